using System.Text.Json;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// Reads one profile object (the shape shared by the run manifest and <c>qemu-profiles.json</c>) strictly: an unknown
/// field or a value of the wrong type is an error that names the profile, the field and the file, because a typo in a
/// profile otherwise shows up as a VM that silently boots the wrong thing.
/// </summary>
internal static partial class ProfileJsonReader
{
    private static readonly string[] KnownFields =
    [
        "arch", "machine", "memory", "smp", "accel", "kernel", "initrd", "append", "drives", "args", "console",
        "readyPattern", "failurePatterns", "prompt", "bootTimeoutSeconds", "shutdownTimeoutSeconds", "warmStart",
        "runner", "containerImage", "network", "display", "firmware",
    ];

    /// <summary>The fields of a drive object; the MSBuild <c>Drives</c> metadata takes the same names.</summary>
    public static readonly IReadOnlyList<string> DriveFields = ["image", "path", "id", "interface", "format", "readOnly", "snapshot", "cache"];

    private static readonly string[] NetworkFields = ["mode", "model"];

    public static QemuProfile Read(
        string name,
        JsonElement json,
        string sourceFile,
        IReadOnlyDictionary<string, ManifestImage>? images = null,
        string? qemuBinary = null,
        string? baseDirectory = null)
    {
        var ctx = new Context(name, sourceFile);
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw ctx.Error(null, $"must be a JSON object, got {Describe(json)}");
        }

        // The build checks a profile after rewriting its paths against the manifest's folder, but names the user's file.
        baseDirectory ??= Path.GetDirectoryName(Path.GetFullPath(sourceFile)) ?? Directory.GetCurrentDirectory();
        var profile = new QemuProfile(name) { Source = sourceFile, QemuBinary = qemuBinary };
        bool consoleSeen = false;

        foreach (JsonProperty property in json.EnumerateObject())
        {
            JsonElement value = property.Value;
            switch (property.Name)
            {
                case "arch":
                    profile = profile with { Arch = ctx.RequiredString(property.Name, value) };
                    break;
                case "machine":
                    profile = profile with { Machine = ctx.String(property.Name, value) };
                    break;
                case "memory":
                    profile = profile with { Memory = ctx.Memory(property.Name, value) };
                    break;
                case "smp":
                    profile = profile with { Smp = ctx.PositiveInt(property.Name, value) };
                    break;
                case "accel":
                    profile = profile with { Accel = ProfileEnum.Parse<QemuAccelerator>(ctx.OneOf(property.Name, value, ProfileEnum.Names<QemuAccelerator>()), property.Name) };
                    break;
                case "firmware":
                    profile = profile with { Firmware = ProfileEnum.Parse<QemuFirmware>(ctx.OneOf(property.Name, value, ProfileEnum.Names<QemuFirmware>()), property.Name) };
                    break;
                case "kernel":
                    profile = profile with { Kernel = ctx.Path(property.Name, value, baseDirectory) };
                    break;
                case "initrd":
                    profile = profile with { Initrd = ctx.Path(property.Name, value, baseDirectory) };
                    break;
                case "append":
                    profile = profile with { Append = ctx.String(property.Name, value) };
                    break;
                case "drives":
                    profile = profile with { Drives = ReadDrives(ctx, value, baseDirectory, images) };
                    break;
                case "args":
                    profile = profile with { Args = ctx.StringArray(property.Name, value) };
                    break;
                case "console":
                    consoleSeen = true;
                    profile = profile with { Console = ReadConsole(ctx, value) };
                    break;
                case "readyPattern":
                    profile = profile with { ReadyPattern = ctx.Regex(property.Name, value) };
                    break;
                case "failurePatterns":
                    IReadOnlyList<string> patterns = ctx.StringArray(property.Name, value);
                    foreach (string pattern in patterns)
                    {
                        ctx.CheckRegex(property.Name, pattern);
                    }

                    profile = profile with { FailurePatterns = patterns };
                    break;
                case "prompt":
                    profile = profile with { Prompt = ctx.String(property.Name, value) };
                    break;
                case "bootTimeoutSeconds":
                    profile = profile with { BootTimeout = ctx.Seconds(property.Name, value) };
                    break;
                case "shutdownTimeoutSeconds":
                    profile = profile with { ShutdownTimeout = ctx.Seconds(property.Name, value) };
                    break;
                case "warmStart":
                    profile = profile with { WarmStart = ctx.Bool(property.Name, value) };
                    break;
                case "runner":
                    profile = profile with { Runner = ProfileEnum.Parse<QemuRunner>(ctx.OneOf(property.Name, value, ProfileEnum.Names<QemuRunner>()), property.Name) };
                    break;
                case "containerImage":
                    profile = profile with { ContainerImage = ctx.String(property.Name, value) };
                    break;
                case "network":
                    profile = profile with { Network = ReadNetwork(ctx, value) };
                    break;
                case "display":
                    profile = profile with { Display = ProfileEnum.Parse<QemuDisplay>(ctx.OneOf(property.Name, value, ProfileEnum.Names<QemuDisplay>()), property.Name) };
                    break;
                default:
                    throw ctx.Error(property.Name, $"is not a profile field; known fields: {string.Join(", ", KnownFields)}");
            }
        }

        // A guest needs a console to report readiness; a profile says "console": null to opt out.
        if (!consoleSeen && (profile.Kernel is not null || profile.Drives.Count > 0))
        {
            profile = profile with { Console = new QemuProfileConsole() };
        }

        if (profile.ReadyPattern is not null && profile.Console is null)
        {
            throw ctx.Error("readyPattern", "needs a console to watch, but \"console\" is null");
        }

        if ((profile.Initrd is not null || profile.Append is not null) && profile.Kernel is null)
        {
            throw ctx.Error(profile.Initrd is not null ? "initrd" : "append", "needs \"kernel\": QEMU only takes it with -kernel");
        }

        return profile;
    }

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

    private static QemuProfileNetwork? ReadNetwork(Context ctx, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return ctx.OneOf("network", value, "user", "none") == "user" ? new QemuProfileNetwork() : null;
            case JsonValueKind.Object:
                var network = new QemuProfileNetwork();
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        // Only user mode: restrict=on is the point of this option, a tap or bridge NIC goes in "args".
                        case "mode": ctx.OneOf("network.mode", p.Value, "user"); break;
                        case "model": network = network with { Model = ctx.RequiredString("network.model", p.Value) }; break;
                        default: throw ctx.Error($"network.{p.Name}", $"is not a network field; known fields: {string.Join(", ", NetworkFields)}");
                    }
                }

                return network;
            default:
                throw ctx.Error("network", $"must be \"user\", \"none\", null or an object like {{ \"model\": \"virtio-net-pci\" }}; got {Describe(value)}");
        }
    }

    private static QemuProfileConsole? ReadConsole(Context ctx, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
            case JsonValueKind.False:
                return null;
            case JsonValueKind.True:
                return new QemuProfileConsole();
            case JsonValueKind.Object:
                string? device = null;
                int index = 0;
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "device": device = ctx.String("console.device", p.Value); break;
                        case "index": index = ctx.NonNegativeInt("console.index", p.Value); break;
                        default: throw ctx.Error($"console.{p.Name}", "is not a console field; known fields: device, index");
                    }
                }

                return new QemuProfileConsole(device, index);
            default:
                throw ctx.Error("console", $"must be an object like {{ \"device\": null, \"index\": 0 }}, true, or null; got {Describe(value)}");
        }
    }

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
