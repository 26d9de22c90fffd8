using System.Globalization;
using System.Text;

namespace QemuTestKit.Qmp;

/// <summary>One message in a <see cref="QmpTranscript"/>.</summary>
public sealed class QmpTranscriptEntry
{
    private readonly ReadOnlyMemory<byte> _utf8;

    internal QmpTranscriptEntry(DateTimeOffset timestamp, QmpMessageDirection direction, ReadOnlyMemory<byte> utf8)
    {
        Timestamp = timestamp;
        Direction = direction;
        _utf8 = utf8;
    }

    /// <summary>When the message was sent or received (UTC).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Which way it went.</summary>
    public QmpMessageDirection Direction { get; }

    /// <summary>The message as it went over the wire, without the trailing newline.</summary>
    public string Text => Encoding.UTF8.GetString(_utf8.Span);

    internal int ByteCount => _utf8.Length;

    /// <summary><c>HH:mm:ss.ffffff &gt;&gt; text</c> (sent) or <c>&lt;&lt;</c> (received).</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Timestamp:HH:mm:ss.ffffff} {(Direction == QmpMessageDirection.Sent ? ">>" : "<<")} {Text}");
}
