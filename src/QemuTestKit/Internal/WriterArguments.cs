using System.Text.Json;

namespace QemuTestKit.Internal;

/// <summary>
/// Command arguments written straight into the message by a callback, inside the <c>"arguments"</c> object: for large
/// base64 blocks, which then never exist as an intermediate string.
/// </summary>
internal sealed class WriterArguments(Action<Utf8JsonWriter> write)
{
    public void Write(Utf8JsonWriter writer) => write(writer);
}
