using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>One message in a <see cref="QmpTranscript"/>.</summary>
public sealed class QmpTranscriptEntry
{
    private readonly ReadOnlyMemory<byte> _utf8;
    private readonly JsonElement _message;

    internal QmpTranscriptEntry(DateTimeOffset timestamp, QmpMessageDirection direction, ReadOnlyMemory<byte> utf8)
    {
        Timestamp = timestamp;
        Direction = direction;
        _utf8 = utf8;
    }

    /// <summary>A received message, kept as parsed: its raw bytes are the wire text, so nothing is copied twice.</summary>
    internal QmpTranscriptEntry(DateTimeOffset timestamp, QmpMessageDirection direction, JsonElement message)
    {
        Timestamp = timestamp;
        Direction = direction;
        _message = message;
    }

    /// <summary>When the message was sent or received (UTC).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Which way it went.</summary>
    public QmpMessageDirection Direction { get; }

    /// <summary>The message as it went over the wire, without the trailing newline.</summary>
    public string Text => Encoding.UTF8.GetString(Utf8);

    internal int ByteCount => Utf8.Length;

    private ReadOnlySpan<byte> Utf8 => _message.ValueKind == JsonValueKind.Undefined ? _utf8.Span : JsonMarshal.GetRawUtf8Value(_message);

    /// <summary><c>HH:mm:ss.ffffff &gt;&gt; text</c> (sent) or <c>&lt;&lt;</c> (received).</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Timestamp:HH:mm:ss.ffffff} {(Direction == QmpMessageDirection.Sent ? ">>" : "<<")} {Text}");
}
