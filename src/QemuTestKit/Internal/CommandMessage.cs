using System.Buffers;
using System.Text.Json;
using QemuTestKit.Qmp;

namespace QemuTestKit.Internal;

/// <summary>
/// The JSON framing QMP and the guest agent share: one command object per line, and the class and description of an
/// error reply. Decided here once so both clients frame and read the same way.
/// </summary>
internal static class CommandMessage
{
    /// <summary>
    /// Writes <paramref name="prefix"/>, then <c>{"execute": command, "arguments": …, "id": id}</c> and a newline, into
    /// <paramref name="buffer"/> (reset first) through <paramref name="writer"/>; returns a copy of the whole message.
    /// </summary>
    /// <param name="buffer">Reused between messages; the caller serializes access.</param>
    /// <param name="writer">Writes into <paramref name="buffer"/>; reset here.</param>
    /// <param name="prefix">Bytes before the JSON (the guest agent's 0xFF parser flush), usually empty.</param>
    /// <param name="executeKey"><c>execute</c>, or <c>exec-oob</c> for an out-of-band QMP command.</param>
    /// <param name="command">The command name.</param>
    /// <param name="arguments">See <see cref="QmpArgumentWriter.Write"/>, or <see cref="WriterArguments"/>.</param>
    /// <param name="convertKeys">Convert top-level keys <c>_</c>→<c>-</c>.</param>
    /// <param name="id">The <c>"id"</c> to send, or <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The arguments are not a JSON object.</exception>
    public static byte[] Write(
        ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> executeKey, string command, object? arguments, bool convertKeys, long? id)
    {
        buffer.ResetWrittenCount();
        buffer.Write(prefix);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString(executeKey, command);
        if (arguments is not null)
        {
            writer.WritePropertyName("arguments"u8);
            if (arguments is WriterArguments callback)
            {
                writer.WriteStartObject();
                callback.Write(writer);
                writer.WriteEndObject();
            }
            else
            {
                QmpArgumentWriter.Write(writer, arguments, convertKeys);
            }
        }

        if (id is { } value)
        {
            writer.WriteNumber("id"u8, value);
        }

        writer.WriteEndObject();
        writer.Flush();
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The <c>"return"</c> value of <paramref name="response"/>; for an error reply, throws what <paramref name="error"/> makes of it.</summary>
    /// <param name="command">The command the response answers.</param>
    /// <param name="response">The whole response.</param>
    /// <param name="error">Makes the protocol's command exception from the command, the error class, the description and the response.</param>
    public static JsonElement ReturnOrThrow(string command, JsonElement response, Func<string, string, string, JsonElement, Exception> error)
    {
        if (response.TryGetProperty("return", out JsonElement value))
        {
            return value;
        }

        (string errorClass, string description) = ReadError(response);
        throw error(command, errorClass, description, response);
    }

    /// <summary>
    /// The error class and description of an <c>{"error": {"class", "desc"}}</c> reply; for a malformed one, an empty
    /// class and the raw text, so the evidence is never lost.
    /// </summary>
    public static (string ErrorClass, string Description) ReadError(JsonElement response)
    {
        if (response.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object)
        {
            string errorClass = error.TryGetProperty("class", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
            string description = error.TryGetProperty("desc", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : error.GetRawText();
            return (errorClass, description);
        }

        return ("", response.GetRawText());
    }
}
