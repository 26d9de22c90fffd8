using System.Text.Json;

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
        "runner", "containerImage", "network", "display", "firmware", "guestAgent",
    ];

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
                case "guestAgent":
                    profile = profile with { GuestAgent = ctx.Bool(property.Name, value) };
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
}
