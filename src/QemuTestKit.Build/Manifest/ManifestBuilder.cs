using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Build.Images;
using QemuTestKit.Build.Internal;
using QemuTestKit.Internal;

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
            throw new QemuBuildException(ErrorCodes.ProfileFileInvalid, $"QemuProfile file '{path}' is not valid JSON: {JsonErrorText.Describe(e, text)}", e)
            {
                File = path,
                Line = (int)(e.LineNumber ?? -1) + 1,
                Column = (int)(e.BytePositionInLine ?? -1) + 1,
            };
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

            AddProfile(name, (JsonObject)profile.DeepClone(), baseDirectory, path, text);
        }
    }

    /// <summary>
    /// Adds a profile built from <c>QemuProfile</c> item metadata (see <see cref="ProfileItemReader"/>), or read from a
    /// file (<paramref name="fileText"/> set: errors then point at the field's line and column in that file). The profile
    /// is read by the runtime's own reader, and its kernel, initrd and drives must be staged images or existing files.
    /// </summary>
    public void AddProfile(string name, JsonObject profile, string baseDirectory, string origin, string? fileText = null)
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

            for (int i = 0; i < drives.Count; i++)
            {
                // A drive given as a plain path string, as older profiles write it.
                if (drives[i] is JsonValue plain && plain.TryGetValue(out string? plainPath))
                {
                    drives[i] = ResolvePath(plainPath, baseDirectory);
                }
            }
        }

        Check(name, profile, origin, fileText);
        _profileOrigins.Add(name, origin);
        _profiles[name] = profile;
    }

    /// <summary>Reads the profile as the tests will, and checks that the files it boots exist, so a typo fails the build, not a test.</summary>
    private void Check(string name, JsonObject profile, string origin, string? fileText)
    {
        var images = _images.ToDictionary(
            image => image.Key,
            image => new QemuTestKit.ManifestImage(
                image.Key,
                Path.GetFullPath(_imagePaths[image.Key], _manifestDirectory),
                (string?)image.Value?["sha256"],
                (string?)image.Value?["format"]),
            StringComparer.Ordinal);
        QemuTestKit.QemuProfile read;
        try
        {
            using JsonDocument document = JsonDocument.Parse(profile.ToJsonString());
            read = QemuTestKit.ProfileJsonReader.Read(name, document.RootElement, origin, images, qemuBinary: null, baseDirectory: _manifestDirectory);
        }
        catch (QemuTestKit.QemuProfileException e)
        {
            throw Located(fileText is null ? ErrorCodes.ProfileMetadataInvalid : ErrorCodes.ProfileFileInvalid, e.Message, name, e.Field, origin, fileText, e);
        }

        var staged = new HashSet<string>(images.Values.Select(image => image.Path), StringComparer.Ordinal);
        var files = new List<(string Field, string Path)>();
        if (read.Kernel is not null)
        {
            files.Add(("kernel", read.Kernel));
        }

        if (read.Initrd is not null)
        {
            files.Add(("initrd", read.Initrd));
        }

        files.AddRange(read.Drives.Select((drive, i) => (string.Create(CultureInfo.InvariantCulture, $"drives[{i}]"), drive.Path)));
        foreach ((string field, string path) in files)
        {
            if (staged.Contains(path) || File.Exists(path))
            {
                continue;
            }

            string fileName = Path.GetFileName(path);
            string? renamed = _imagePaths.Keys.FirstOrDefault(image =>
                string.Equals(image, Path.GetFileNameWithoutExtension(fileName), StringComparison.Ordinal)
                || string.Equals(Path.GetFileNameWithoutExtension(image), Path.GetFileNameWithoutExtension(fileName), StringComparison.Ordinal));
            string hint = renamed is null
                ? ""
                : $" A QemuImage is staged as '{renamed}': staging names an image after its file without the compression extension (Unpack) or with its Format's extension, so name '{renamed}'.";
            throw Located(
                ErrorCodes.ProfileFileNotFound,
                $"QEMU profile '{name}' (in {origin}): {field} '{path}' is neither a staged QemuImage nor an existing file.{hint} " +
                $"Staged images: {string.Join(", ", _imagePaths.Keys.DefaultIfEmpty("(none)"))}. Name a QemuImage by its Name, or give a path that exists (relative paths are resolved against the file or project that defines the profile).",
                name,
                field,
                origin,
                fileText,
                null);
        }
    }

    private static QemuBuildException Located(string code, string message, string profile, string? field, string origin, string? fileText, Exception? inner)
    {
        (int Line, int Column)? at = fileText is null
            ? null
            : JsonFieldLocator.Find(fileText, ["profiles", profile, .. JsonFieldLocator.FieldSegments(field)]);
        return new QemuBuildException(code, message, inner)
        {
            File = fileText is null ? null : origin,
            Line = at?.Line ?? 0,
            Column = at?.Column ?? 0,
        };
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
