using System.Text.Json;
using System.Text.RegularExpressions;

namespace QemuTestKit;

// Typed reads of single values, each error naming the profile, the field and the file.
internal static partial class ProfileJsonReader
{
    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{value.GetString()}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    private sealed class Context(string profile, string sourceFile)
    {
        public QemuProfileException Error(string? field, string problem)
        {
            string where = field is null ? $"Profile '{profile}'" : $"Profile '{profile}', field '{field}'";
            return new QemuProfileException($"{where} {problem} (in {sourceFile}).", profile, field, sourceFile);
        }

        public string? String(string field, JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => value.GetString(),
            _ => throw Error(field, $"must be a string, got {Describe(value)}"),
        };

        public string RequiredString(string field, JsonElement value)
        {
            string? text = String(field, value);
            return string.IsNullOrWhiteSpace(text) ? throw Error(field, "must be a non-empty string") : text;
        }

        public string? Path(string field, JsonElement value, string baseDirectory)
        {
            string? text = String(field, value);
            return string.IsNullOrEmpty(text) ? null : System.IO.Path.GetFullPath(text, baseDirectory);
        }

        public bool Bool(string field, JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(field, $"must be true or false, got {Describe(value)}"),
        };

        public int? PositiveInt(string field, JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n > 0
                ? n
                : throw Error(field, $"must be a positive integer, got {Describe(value)}");
        }

        public int NonNegativeInt(string field, JsonElement value) =>
            value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 0
                ? n
                : throw Error(field, $"must be a non-negative integer, got {Describe(value)}");

        public TimeSpan Seconds(string field, JsonElement value) =>
            value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double s) && s > 0 && s <= int.MaxValue / 1000
                ? TimeSpan.FromSeconds(s)
                : throw Error(field, $"must be a positive number of seconds, got {Describe(value)}");

        public string OneOf(string field, JsonElement value, params string[] allowed)
        {
            string? text = String(field, value);
            return text is not null && allowed.Contains(text, StringComparer.Ordinal)
                ? text
                : throw Error(field, $"must be one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))}, got {Describe(value)}");
        }

        public string? Memory(string field, JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Number)
            {
                // A bare number is MiB, as QEMU's -m takes it.
                return value.TryGetInt32(out int mib) && mib > 0
                    ? mib.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : throw Error(field, $"must be a positive size such as \"256M\" or 256 (MiB), got {Describe(value)}");
            }

            string? text = String(field, value);
            return text is null || MemoryPattern().IsMatch(text)
                ? text
                : throw Error(field, $"must be a size such as \"256M\", \"1G\" or 256 (MiB), got {Describe(value)}");
        }

        public List<string> StringArray(string field, JsonElement value)
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw Error(field, $"must be an array of strings, got {Describe(value)}");
            }

            var items = new List<string>();
            int index = 0;
            foreach (JsonElement item in value.EnumerateArray())
            {
                items.Add(item.ValueKind == JsonValueKind.String
                    ? item.GetString()!
                    : throw Error($"{field}[{index}]", $"must be a string, got {Describe(item)}"));
                index++;
            }

            return items;
        }

        public string? Regex(string field, JsonElement value)
        {
            string? pattern = String(field, value);
            if (pattern is not null)
            {
                CheckRegex(field, pattern);
            }

            return pattern;
        }

        public void CheckRegex(string field, string pattern)
        {
            try
            {
                _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException ex)
            {
                throw Error(field, $"is not a valid regular expression ({ex.Message})");
            }
        }
    }

    [GeneratedRegex(@"^\d+(\.\d+)?[KMGTkmgt]?[Bb]?$")]
    private static partial Regex MemoryPattern();
}
