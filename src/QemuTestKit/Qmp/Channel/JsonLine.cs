using System.Buffers;
using System.Text;
using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>One received line of a <see cref="JsonLinesChannel"/>: parsed strictly, tested for blankness, previewed for messages.</summary>
internal static class JsonLine
{
    private const int PreviewBytes = 200;

    /// <summary>
    /// Parses <paramref name="line"/> as exactly one JSON value, copied once into the element's own document (a transcript
    /// keeps that document, not another array).
    /// </summary>
    /// <exception cref="JsonException">Not JSON, or more than one value.</exception>
    public static JsonElement Parse(ReadOnlySequence<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        JsonElement message = JsonElement.ParseValue(ref reader);
        return reader.Read() ? throw new JsonException("Data after the JSON value.") : message;
    }

    /// <summary>Whether <paramref name="bytes"/> hold only JSON whitespace (or nothing).</summary>
    public static bool IsBlank(ReadOnlySequence<byte> bytes)
    {
        foreach (ReadOnlyMemory<byte> segment in bytes)
        {
            if (!segment.Span.Trim(" \t\r\n"u8).IsEmpty)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The first 200 bytes of <paramref name="bytes"/> as text, with an ellipsis when there is more.</summary>
    public static string Preview(ReadOnlySequence<byte> bytes)
    {
        string text = Encoding.UTF8.GetString(bytes.Length > PreviewBytes ? bytes.Slice(0, PreviewBytes) : bytes);
        return bytes.Length > PreviewBytes ? text + "…" : text;
    }
}
