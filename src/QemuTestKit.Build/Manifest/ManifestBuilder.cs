using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Build.Images;
using QemuTestKit.Build.Internal;

namespace QemuTestKit.Build.Manifest;

/// <summary>
/// Builds <c>qemutestkit.manifest.json</c> (schema in docs/manifest.schema.md): QEMU, the staged images and the profiles.
/// Paths in profiles are rewritten so they hold from the manifest's folder: an image name becomes the staged image's
/// relative path, any other relative path becomes absolute against the file (or project) that defined it.
/// </summary>
internal sealed class ManifestBuilder
{
    public const int SchemaVersion = 1;

    private static readonly JsonSerializerOptions s_writeOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonDocumentOptions s_readOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly string _manifestDirectory;
    private readonly Dictionary<string, string> _imagePaths = new(StringComparer.Ordinal);
    private readonly JsonObject _images = [];
    private readonly JsonObject _profiles = [];
    private readonly Dictionary<string, string> _profileOrigins = new(StringComparer.Ordinal);
    private JsonObject? _qemu;

    public ManifestBuilder(string manifestPath)
    {
        _manifestDirectory = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
    }

    public void SetQemu(string? binary, string? version, string? arch)
    {
        var qemu = new JsonObject();
        AddIfSet(qemu, "binary", binary);
        AddIfSet(qemu, "version", version);
        AddIfSet(qemu, "arch", arch);
        _qemu = qemu;
    }

    public void AddImage(StagedImage image)
    {
        string relative = Path.GetRelativePath(_manifestDirectory, image.Path).Replace('\\', '/');
        var entry = new JsonObject { ["path"] = relative, ["sha256"] = image.Sha256 };
        AddIfSet(entry, "format", image.Format);
        _images[image.Name] = entry;
        _imagePaths[image.Name] = relative;
    }

    /// <summary>Adds the profiles of a <c>qemu-profiles.json</c> file: <c>{ "profiles": { "name": { … } } }</c>.</summary>
    public void AddProfileFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new QemuBuildException(ErrorCodes.ProfileFileInvalid, $"QemuProfile file '{path}' does not exist. Fix the QemuProfile item's path.");
        }

        JsonNode? root;
        string text = File.ReadAllText(path);
        try
        {
            root = JsonNode.Parse(text, documentOptions: s_readOptions);
        }
        catch (JsonException e)
        {
            throw new QemuBuildException(ErrorCodes.ProfileFileInvalid, $"QemuProfile file '{path}' is not valid JSON: {JsonErrorText.Describe(e, text)}", e);
        }

        if (root is not JsonObject rootObject || rootObject["profiles"] is not JsonObject profiles)
        {
            throw new QemuBuildException(ErrorCodes.ProfileFileInvalid, $"QemuProfile file '{path}' must hold an object with a \"profiles\" object: {{ \"profiles\": {{ \"name\": {{ … }} }} }}.");
        }

        string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach ((string name, JsonNode? value) in profiles.ToList())
        {
            if (value is not JsonObject profile)
            {
                throw new QemuBuildException(ErrorCodes.ProfileFileInvalid, $"QemuProfile file '{path}': profile '{name}' must be an object.");
            }

            AddProfile(name, (JsonObject)profile.DeepClone(), baseDirectory, path);
        }
    }

    /// <summary>Adds a profile built from <c>QemuProfile</c> item metadata (see <see cref="ProfileItemReader"/>).</summary>
    public void AddProfile(string name, JsonObject profile, string baseDirectory, string origin)
    {
        if (_profileOrigins.TryGetValue(name, out string? first))
        {
            throw new QemuBuildException(ErrorCodes.DuplicateProfileName, $"QEMU profile '{name}' is defined twice: in {first} and in {origin}. Rename one of them.");
        }

        foreach (string key in new[] { "kernel", "initrd" })
        {
            if (profile[key] is JsonValue value && value.TryGetValue(out string? path))
            {
                profile[key] = ResolvePath(path, baseDirectory);
            }
        }

        if (profile["drives"] is JsonArray drives)
        {
            foreach (JsonNode? drive in drives)
            {
                if (drive is not JsonObject driveObject)
                {
                    continue;
                }

                if (driveObject["image"] is JsonValue image && image.TryGetValue(out string? imageName) && !_imagePaths.ContainsKey(imageName))
                {
                    throw new QemuBuildException(
                        ErrorCodes.ProfileMetadataInvalid,
                        $"QEMU profile '{name}' (in {origin}) has a drive with image '{imageName}', but no QemuImage item is named so. Staged images: {string.Join(", ", _imagePaths.Keys.DefaultIfEmpty("(none)"))}.");
                }

                if (driveObject["path"] is JsonValue drivePath && drivePath.TryGetValue(out string? pathValue))
                {
                    driveObject["path"] = ResolvePath(pathValue, baseDirectory);
                }
            }
        }

        _profileOrigins.Add(name, origin);
        _profiles[name] = profile;
    }

    public bool HasImage(string name) => _imagePaths.ContainsKey(name);

    public string ToJson()
    {
        var root = new JsonObject { ["version"] = SchemaVersion };
        if (_qemu is not null)
        {
            root["qemu"] = _qemu.DeepClone();
        }

        root["images"] = _images.DeepClone();
        root["profiles"] = _profiles.DeepClone();
        return root.ToJsonString(s_writeOptions) + "\n";
    }

    /// <summary>An image name wins over a file of the same name: it is what the user staged for the tests.</summary>
    private string ResolvePath(string value, string baseDirectory) =>
        _imagePaths.TryGetValue(value, out string? staged) ? staged
        : Path.IsPathRooted(value) ? value
        : Path.GetFullPath(value, baseDirectory);

    private static void AddIfSet(JsonObject target, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            target[name] = value;
        }
    }
}
