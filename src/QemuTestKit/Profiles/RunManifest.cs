using System.Text.Json;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// The run manifest (<c>qemutestkit.manifest.json</c>) the MSBuild tasks write into the test project's output folder:
/// the QEMU binary they found, the images they staged and the profiles the project defines.
/// </summary>
internal sealed class RunManifest
{
    public const string FileName = "qemutestkit.manifest.json";

    public const int SupportedVersion = 1;

    private RunManifest(string path)
    {
        FilePath = path;
    }

    public string FilePath { get; }

    public string? QemuBinary { get; private set; }

    public string? QemuVersion { get; private set; }

    public string? QemuArch { get; private set; }

    public IReadOnlyDictionary<string, ManifestImage> Images { get; private set; } = new Dictionary<string, ManifestImage>();

    /// <summary>Profile name → its JSON, read lazily so one broken profile does not break the others.</summary>
    public IReadOnlyDictionary<string, JsonElement> Profiles { get; private set; } = new Dictionary<string, JsonElement>();

    public static RunManifest Load(string path)
    {
        JsonElement root = ProfileFile.ParseRoot(path);
        var manifest = new RunManifest(path);
        string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;

        if (root.TryGetProperty("version", out JsonElement version)
            && (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != SupportedVersion))
        {
            throw new QemuProfileException(
                $"Run manifest {path}: 'version' is {version.GetRawText()}, but this QemuTestKit reads version {SupportedVersion}; rebuild the test project with the matching QemuTestKit.Build.");
        }

        if (root.TryGetProperty("qemu", out JsonElement qemu) && qemu.ValueKind == JsonValueKind.Object)
        {
            manifest.QemuBinary = OptionalString(qemu, "binary", path);
            manifest.QemuVersion = OptionalString(qemu, "version", path);
            manifest.QemuArch = OptionalString(qemu, "arch", path);
        }

        if (root.TryGetProperty("images", out JsonElement images) && images.ValueKind == JsonValueKind.Object)
        {
            var map = new Dictionary<string, ManifestImage>(StringComparer.Ordinal);
            foreach (JsonProperty image in images.EnumerateObject())
            {
                if (image.Value.ValueKind != JsonValueKind.Object
                    || OptionalString(image.Value, "path", path) is not string imagePath)
                {
                    throw new QemuProfileException($"Run manifest {path}: image '{image.Name}' needs a \"path\".");
                }

                map[image.Name] = new ManifestImage(
                    image.Name,
                    Path.GetFullPath(imagePath, baseDirectory),
                    OptionalString(image.Value, "sha256", path),
                    OptionalString(image.Value, "format", path));
            }

            manifest.Images = map;
        }

        manifest.Profiles = ProfileFile.ProfilesOf(root, path);
        return manifest;
    }

    private static string? OptionalString(JsonElement obj, string name, string path) =>
        !obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null
            ? null
            : value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : throw new QemuProfileException($"Run manifest {path}: '{name}' must be a string, got {ProfileJsonReader.Describe(value)}.");
}
