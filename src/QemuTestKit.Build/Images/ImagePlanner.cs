using System.Globalization;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Internal;

namespace QemuTestKit.Build.Images;

/// <summary>Reads <c>QemuImage</c> items: source, <c>Sha256</c>, <c>Name</c>, <c>Format</c>, <c>Unpack</c>.</summary>
internal static class ImagePlanner
{
    /// <summary>The metadata a <c>QemuImage</c> takes; any other is an error (QTK024).</summary>
    public static readonly IReadOnlySet<string> KnownMetadata =
        new HashSet<string>(["Sha256", "Name", "Format", "Unpack"], StringComparer.OrdinalIgnoreCase);

    private static readonly string[] s_imageExtensions = ["qcow2", "qcow", "raw", "img", "vmdk", "vdi", "vhdx", "vpc", "qed", "iso"];

    public static IReadOnlyList<ImageSpec> Plan(IEnumerable<ITaskItem> items, string projectDirectory, string outputDirectory)
    {
        var specs = new List<ImageSpec>();
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (ITaskItem item in items)
        {
            ImageSpec spec = PlanOne(item, projectDirectory, outputDirectory);
            if (names.TryGetValue(spec.Name, out string? other))
            {
                throw new QemuBuildException(
                    ErrorCodes.DuplicateImageName,
                    $"Two QemuImage items stage to the same name '{spec.Name}': '{other}' and '{spec.Source}'. Give one of them a different Name metadata.");
            }

            names.Add(spec.Name, spec.Source);
            specs.Add(spec);
        }

        return specs;
    }

    private static ImageSpec PlanOne(ITaskItem item, string projectDirectory, string outputDirectory)
    {
        string source = item.ItemSpec.Trim();
        if (ItemMetadata.FirstUnknown(item, KnownMetadata) is string unknown)
        {
            throw new QemuBuildException(
                ErrorCodes.UnknownImageMetadata,
                $"QemuImage '{source}': {unknown}=\"{item.GetMetadata(unknown)}\" is not QemuImage metadata (known: {string.Join(", ", KnownMetadata.Order(StringComparer.Ordinal))}). Fix the name: a misspelt Sha256 would leave the image unchecked.");
        }

        Uri? remote = null;
        string? localPath = null;
        string fileName;
        if (source.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(source, UriKind.Absolute, out remote) || remote.Scheme is not ("http" or "https" or "file"))
            {
                throw new QemuBuildException(
                    ErrorCodes.UnsupportedSource,
                    $"QemuImage '{source}': only local paths and http://, https:// and file:// URLs are supported.");
            }

            fileName = Uri.UnescapeDataString(remote.Segments[^1]);
        }
        else
        {
            localPath = Path.GetFullPath(source, projectDirectory);
            fileName = Path.GetFileName(localPath);
        }

        string? sha256 = NormalizeSha256(item.GetMetadata("Sha256"), source);
        if (remote is not null && sha256 is null)
        {
            throw new QemuBuildException(
                ErrorCodes.HashMissingOrInvalid,
                $"QemuImage '{source}' is downloaded, so it needs its SHA-256: add Sha256=\"<64 hex digits>\" to the item (for example the output of 'sha256sum').");
        }

        bool unpack = !string.Equals(item.GetMetadata("Unpack").Trim(), "false", StringComparison.OrdinalIgnoreCase);
        Compression compression = unpack ? CompressionOf(fileName) : Compression.None;
        string? format = NullIfEmpty(item.GetMetadata("Format"))?.ToLowerInvariant();

        string name = NullIfEmpty(item.GetMetadata("Name")) ?? DefaultName(fileName, compression, format);
        if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new QemuBuildException(
                ErrorCodes.DuplicateImageName,
                $"QemuImage '{source}': Name '{name}' must be a plain file name (no folders).");
        }

        string stagedPath = Path.GetFullPath(Path.Combine(outputDirectory, name));
        return new ImageSpec(source, remote, localPath, sha256, compression, format, name, stagedPath, format ?? FormatOf(name));
    }

    public static Compression CompressionOf(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".gz" => Compression.Gzip,
        ".xz" => Compression.Xz,
        ".bz2" => Compression.Bzip2,
        ".zst" => Compression.Zstd,
        _ => Compression.None,
    };

    private static string DefaultName(string fileName, Compression compression, string? format)
    {
        string name = compression == Compression.None ? fileName : Path.GetFileNameWithoutExtension(fileName);
        string extension = Path.GetExtension(name).TrimStart('.').ToLowerInvariant();
        return format is not null && s_imageExtensions.Contains(extension) && extension != format
            ? Path.ChangeExtension(name, format)
            : name;
    }

    /// <summary>The disk format a file name announces, if any: what the manifest reports when no Format is given.</summary>
    private static string? FormatOf(string name)
    {
        string extension = Path.GetExtension(name).TrimStart('.').ToLowerInvariant();
        return extension switch
        {
            "img" or "iso" => "raw",
            _ when s_imageExtensions.Contains(extension) => extension,
            _ => null,
        };
    }

    private static string? NormalizeSha256(string value, string source)
    {
        string trimmed = value.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }

        if (trimmed.Length != 64 || !trimmed.All(Uri.IsHexDigit))
        {
            throw new QemuBuildException(
                ErrorCodes.HashMissingOrInvalid,
                string.Format(CultureInfo.InvariantCulture, "QemuImage '{0}': Sha256 '{1}' is not a SHA-256 (64 hex digits).", source, trimmed));
        }

        return trimmed.ToLowerInvariant();
    }

    private static string? NullIfEmpty(string value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
