using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace QemuTestKit.Build.Manifest;

/// <summary>
/// Finds where a field stands in a JSON file, as one-based line and column, so a build error points at the user's own
/// text (<c>qemu-profiles.json(12,7)</c>) rather than at the generated manifest. The field is a path such as
/// <c>profiles</c>, <c>disk</c>, <c>drives[0].image</c>, the form the profile reader names fields in; the deepest part of
/// the path that exists wins, so a missing field points at its object.
/// </summary>
internal static partial class JsonFieldLocator
{
    private static readonly JsonReaderOptions s_options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The line and column of the field, or null when the text is not JSON or not even the first segment exists.</summary>
    /// <param name="text">The JSON text.</param>
    /// <param name="path">Object keys and array indexes (<c>[0]</c>) from the root, e.g. <see cref="FieldSegments"/>' output.</param>
    public static (int Line, int Column)? Find(string text, IEnumerable<string> path)
    {
        List<string> target = [.. path];
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        long? best = null;
        int bestDepth = 0;
        var frames = new List<Frame>();
        var reader = new Utf8JsonReader(bytes, s_options);
        try
        {
            while (reader.Read())
            {
                JsonTokenType token = reader.TokenType;
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    frames.RemoveAt(frames.Count - 1);
                    continue;
                }

                if (token == JsonTokenType.PropertyName)
                {
                    frames[^1].Key = reader.GetString()!;
                    Consider(frames, target, reader.TokenStartIndex, ref best, ref bestDepth);
                    continue;
                }

                // A value: an array element gets its index as its key.
                if (frames.Count > 0 && frames[^1].IsArray)
                {
                    Frame array = frames[^1];
                    array.Index++;
                    array.Key = "[" + array.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
                    Consider(frames, target, reader.TokenStartIndex, ref best, ref bestDepth);
                }

                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    frames.Add(new Frame { IsArray = token == JsonTokenType.StartArray });
                }
            }
        }
        catch (JsonException)
        {
            // A syntax error is reported with its own position; here we only point at fields of a valid file.
            return null;
        }

        return best is long offset ? Position(bytes, offset) : null;
    }

    private static void Consider(List<Frame> frames, List<string> target, long offset, ref long? best, ref int bestDepth)
    {
        if (frames.Count > target.Count)
        {
            return;
        }

        for (int i = 0; i < frames.Count; i++)
        {
            if (frames[i].Key != target[i])
            {
                return;
            }
        }

        if (frames.Count > bestDepth)
        {
            best = offset;
            bestDepth = frames.Count;
        }
    }

    private static (int Line, int Column) Position(byte[] bytes, long offset)
    {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < offset; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        int column = Encoding.UTF8.GetCharCount(bytes, lineStart, (int)offset - lineStart) + 1;
        return (line, column);
    }

    /// <summary>The segments of a profile reader's field name: <c>drives[0].image</c> is <c>drives</c>, <c>[0]</c>, <c>image</c>.</summary>
    public static IEnumerable<string> FieldSegments(string? field) =>
        field is null ? [] : SegmentPattern().Matches(field).Select(m => m.Value);

    [GeneratedRegex(@"\[\d+\]|[^.\[]+", RegexOptions.CultureInvariant)]
    private static partial Regex SegmentPattern();

    private sealed class Frame
    {
        public bool IsArray { get; init; }

        public int Index { get; set; } = -1;

        public string? Key { get; set; }
    }
}
