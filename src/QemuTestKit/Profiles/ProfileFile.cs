using System.Text.Json;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>Reads the <c>{ "profiles": { "name": { … } } }</c> shape shared by the manifest and <c>qemu-profiles.json</c>.</summary>
internal static class ProfileFile
{
    public const string FileName = "qemu-profiles.json";

    /// <summary>The top-level keys of <c>qemu-profiles.json</c>: its profiles, and the schema reference editors use.</summary>
    public static readonly IReadOnlyList<string> TopLevelKeys = ["profiles", "$schema"];

    private static readonly JsonDocumentOptions Options = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    /// <exception cref="QemuProfileException">The file is not valid JSON (the message names the file and the one-based
    /// line and column, and quotes the line) or its top level is not an object.</exception>
    public static JsonElement ParseRoot(string path)
    {
        string text = File.ReadAllText(path);
        try
        {
            using JsonDocument document = JsonDocument.Parse(text, Options);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new QemuProfileException($"{path}: the top level must be a JSON object with a \"profiles\" object.", null, null, path);
        }
        catch (JsonException ex)
        {
            throw new QemuProfileException($"{path} is not valid JSON: {JsonErrorText.Describe(ex, text)}", null, null, path, ex);
        }
    }

    /// <summary>Refuses top-level keys other than <paramref name="allowed"/>: a misspelt <c>"profile"</c> would otherwise define nothing, silently.</summary>
    /// <exception cref="QemuProfileException">A key is not allowed; the message names it and the allowed ones.</exception>
    public static void CheckTopLevelKeys(JsonElement root, string path, IReadOnlyList<string> allowed)
    {
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new QemuProfileException(
                    $"{path}: unknown top-level key \"{property.Name}\"; the allowed keys are {string.Join(", ", allowed.Select(k => $"\"{k}\""))}. " +
                    "Profiles go under \"profiles\": { \"profiles\": { \"name\": { … } } }.",
                    null, property.Name, path);
            }
        }
    }

    public static IReadOnlyDictionary<string, JsonElement> ProfilesOf(JsonElement root, string path)
    {
        var profiles = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (!root.TryGetProperty("profiles", out JsonElement section) || section.ValueKind == JsonValueKind.Null)
        {
            return profiles;
        }

        if (section.ValueKind != JsonValueKind.Object)
        {
            throw new QemuProfileException($"{path}: \"profiles\" must be an object of name → profile, got {ProfileJsonReader.Describe(section)}.", null, "profiles", path);
        }

        foreach (JsonProperty profile in section.EnumerateObject())
        {
            profiles[profile.Name] = profile.Value;
        }

        return profiles;
    }
}
