using System.Text.Json;

namespace QemuTestKit;

/// <summary>Reads the <c>{ "profiles": { "name": { … } } }</c> shape shared by the manifest and <c>qemu-profiles.json</c>.</summary>
internal static class ProfileFile
{
    public const string FileName = "qemu-profiles.json";

    private static readonly JsonDocumentOptions Options = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    public static JsonElement ParseRoot(string path)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path), Options);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new QemuProfileException($"{path}: the top level must be a JSON object with a \"profiles\" object.");
        }
        catch (JsonException ex)
        {
            throw new QemuProfileException($"{path} is not valid JSON: {ex.Message}", ex);
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
            throw new QemuProfileException($"{path}: \"profiles\" must be an object of name → profile, got {ProfileJsonReader.Describe(section)}.");
        }

        foreach (JsonProperty profile in section.EnumerateObject())
        {
            profiles[profile.Name] = profile.Value;
        }

        return profiles;
    }
}
