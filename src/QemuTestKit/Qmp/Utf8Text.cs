using System.Text;

namespace QemuTestKit.Qmp;

/// <summary>UTF-8 bytes that become a string only if a log line is actually written.</summary>
internal readonly struct Utf8Text(ReadOnlyMemory<byte> bytes)
{
    public override string ToString() => Encoding.UTF8.GetString(bytes.Span);
}
