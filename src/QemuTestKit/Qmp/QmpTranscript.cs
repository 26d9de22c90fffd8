using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// Every QMP message sent and received on one connection, with timestamps, in order: the evidence attached to a
/// failed test. Thread-safe and append-only. It keeps at most a configured number of bytes of message text
/// (<see cref="QmpClientOptions.TranscriptMaxBytes"/>); past that the oldest messages are dropped,
/// <see cref="DroppedCount"/> counts them and <see cref="ToString"/> starts with a line saying so.
/// </summary>
public sealed class QmpTranscript
{
    private readonly Queue<QmpTranscriptEntry> _entries = new();
    private readonly Lock _lock = new();
    private readonly long _maxBytes;
    private long _bytes;
    private long _dropped;

    internal QmpTranscript(long maxBytes) => _maxBytes = Math.Max(0, maxBytes);

    /// <summary>How many of the oldest messages were dropped to stay within the size cap.</summary>
    public long DroppedCount
    {
        get
        {
            lock (_lock)
            {
                return _dropped;
            }
        }
    }

    /// <summary>A copy of the messages currently kept, oldest first.</summary>
    public IReadOnlyList<QmpTranscriptEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    internal void Add(QmpMessageDirection direction, ReadOnlyMemory<byte> utf8) =>
        Add(new QmpTranscriptEntry(DateTimeOffset.UtcNow, direction, utf8));

    internal void AddReceived(JsonElement message) =>
        Add(new QmpTranscriptEntry(DateTimeOffset.UtcNow, QmpMessageDirection.Received, message));

    private void Add(QmpTranscriptEntry entry)
    {
        lock (_lock)
        {
            _entries.Enqueue(entry);
            _bytes += entry.ByteCount;
            while (_bytes > _maxBytes && _entries.Count > 1)
            {
                _bytes -= _entries.Dequeue().ByteCount;
                _dropped++;
            }
        }
    }

    /// <summary>The last <paramref name="count"/> messages rendered one per line (for exception messages).</summary>
    public string Tail(int count)
    {
        IReadOnlyList<QmpTranscriptEntry> entries = Entries;
        var text = new StringBuilder();
        int start = Math.Max(0, entries.Count - count);
        if (start > 0 || DroppedCount > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"... ({start + DroppedCount} earlier messages not shown)\n");
        }

        for (int i = start; i < entries.Count; i++)
        {
            AppendLine(text, entries[i]);
        }

        return text.ToString();
    }

    /// <summary>Every kept message, one per line: <c>HH:mm:ss.ffffff &gt;&gt;|&lt;&lt; json</c>.</summary>
    public override string ToString()
    {
        IReadOnlyList<QmpTranscriptEntry> entries = Entries;
        var text = new StringBuilder();
        long dropped = DroppedCount;
        if (dropped > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"... ({dropped} earlier messages dropped: transcript capped at {_maxBytes} bytes)\n");
        }

        foreach (QmpTranscriptEntry entry in entries)
        {
            AppendLine(text, entry);
        }

        return text.ToString();
    }

    private static void AppendLine(StringBuilder text, QmpTranscriptEntry entry)
    {
        const int MaxLine = 4096;
        string line = entry.ToString();
        if (line.Length > MaxLine)
        {
            // A 16 MiB reply would drown the rest of the evidence in a test report.
            text.Append(line.AsSpan(0, MaxLine)).Append(CultureInfo.InvariantCulture, $"... ({line.Length - MaxLine} more characters)");
        }
        else
        {
            text.Append(line);
        }

        text.Append('\n');
    }
}
