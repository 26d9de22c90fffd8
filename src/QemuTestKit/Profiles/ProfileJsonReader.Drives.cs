using System.Text.Json;

namespace QemuTestKit;

// The <c>drives</c> section: a list of paths or drive objects, each id given once.
internal static partial class ProfileJsonReader
{
    /// <summary>The fields of a drive object; the MSBuild <c>Drives</c> metadata takes the same names.</summary>
    public static readonly IReadOnlyList<string> DriveFields = ["image", "path", "id", "interface", "format", "readOnly", "snapshot", "cache"];

    private static List<QemuDrive> ReadDrives(
        Context ctx,
        JsonElement value,
        string baseDirectory,
        IReadOnlyDictionary<string, ManifestImage>? images)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ctx.Error("drives", $"must be an array of drive objects, got {Describe(value)}");
        }

        var drives = new List<QemuDrive>();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        int index = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string field = $"drives[{index}]";
            QemuDrive drive = item.ValueKind switch
            {
                // A plain string is a path, as profiles written before drives had options say it.
                JsonValueKind.String => new QemuDrive(ctx.Path(field, item, baseDirectory) ?? throw ctx.Error(field, "must be a non-empty path")),
                JsonValueKind.Object => ReadDrive(ctx, field, item, baseDirectory, images),
                _ => throw ctx.Error(field, $"must be an object with \"image\" or \"path\", or a path string, got {Describe(item)}"),
            };

            string id = drive.Id ?? QemuDriveInterfaces.DefaultId(index);
            if (ids.TryGetValue(id, out string? other))
            {
                throw ctx.Error($"{field}.id", $"is '{id}', which {other} already has (a drive without an id is disk<position>); give each drive its own id");
            }

            ids.Add(id, field);
            drives.Add(drive);
            index++;
        }

        return drives;
    }

    private static QemuDrive ReadDrive(
        Context ctx, string field, JsonElement item, string baseDirectory, IReadOnlyDictionary<string, ManifestImage>? images)
    {
        string? image = null, path = null, format = null, iface = null, id = null, cache = null;
        bool readOnly = false, snapshot = false;
        foreach (JsonProperty p in item.EnumerateObject())
        {
            string sub = $"{field}.{p.Name}";
            switch (p.Name)
            {
                case "image": image = ctx.RequiredString(sub, p.Value); break;
                case "path": path = ctx.Path(sub, p.Value, baseDirectory); break;
                case "format": format = ctx.String(sub, p.Value); break;
                case "interface": iface = p.Value.ValueKind == JsonValueKind.Null ? null : ctx.OneOf(sub, p.Value, [.. QemuDriveInterfaces.Names]); break;
                case "id":
                    id = ctx.RequiredString(sub, p.Value);
                    if (!QemuDriveInterfaces.IsWellFormedId(id))
                    {
                        throw ctx.Error(sub, $"is '{id}', which QEMU does not take as an id: use a letter, then letters, digits, '-', '_' or '.'");
                    }

                    break;
                case "cache": cache = p.Value.ValueKind == JsonValueKind.Null ? null : ctx.OneOf(sub, p.Value, [.. QemuDriveInterfaces.CacheModes]); break;
                case "readOnly": readOnly = ctx.Bool(sub, p.Value); break;
                case "snapshot": snapshot = ctx.Bool(sub, p.Value); break;
                default: throw ctx.Error(sub, $"is not a drive field; known fields: {string.Join(", ", DriveFields)}");
            }
        }

        if ((image is null) == (path is null))
        {
            throw ctx.Error(field, "needs exactly one of \"image\" (a manifest image name) or \"path\"");
        }

        if (image is not null)
        {
            if (images is null || !images.TryGetValue(image, out ManifestImage? staged))
            {
                string known = images is null || images.Count == 0 ? "none" : string.Join(", ", images.Keys);
                throw ctx.Error($"{field}.image", $"names image '{image}', which the run manifest does not stage (staged images: {known}); add it as a <QemuImage> item");
            }

            path = staged.Path;
            format ??= staged.Format;
        }

        return new QemuDrive(path!)
        {
            Format = format, Interface = iface, Id = id, Cache = cache, ReadOnly = readOnly, Snapshot = snapshot, Image = image,
        };
    }
}
