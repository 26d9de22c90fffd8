using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Internal;

namespace QemuTestKit.Build.Manifest;

/// <summary>
/// Turns a <c>QemuProfile</c> item that is not a json file into a profile: the item's Include is the profile's name,
/// its metadata the profile's fields (PascalCase metadata, camelCase JSON). Lists are separated by <c>;</c>.
/// </summary>
internal static class ProfileItemReader
{
    private static readonly string[] s_stringFields =
        ["Arch", "Machine", "Memory", "Accel", "Kernel", "Initrd", "Append", "ReadyPattern", "Prompt", "Runner", "ContainerImage", "Display"];

    private static readonly string[] s_intFields = ["Smp", "BootTimeoutSeconds", "ShutdownTimeoutSeconds"];

    /// <summary>Every metadata name this reader understands; a typo in another one is an error, not silence.</summary>
    public static readonly IReadOnlySet<string> KnownMetadata = new HashSet<string>(
        s_stringFields.Concat(s_intFields).Concat(["WarmStart", "Args", "FailurePatterns", "Drives", "ConsoleDevice", "ConsoleIndex", "Network", "NetworkModel"]),
        StringComparer.OrdinalIgnoreCase);

    public static bool IsProfileFile(ITaskItem item) => item.ItemSpec.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    public static JsonObject Read(ITaskItem item, Func<string, bool> isImage)
    {
        string name = item.ItemSpec;
        var profile = new JsonObject();
        if (ItemMetadata.FirstUnknown(item, KnownMetadata) is string unknown)
        {
            throw Invalid(name, unknown, item.GetMetadata(unknown), $"it is not a profile field (known: {string.Join(", ", KnownMetadata.Order(StringComparer.Ordinal))})");
        }

        foreach (string field in s_stringFields)
        {
            // Not trimmed: a prompt such as "qtk# " ends in a space that matters.
            string value = item.GetMetadata(field);
            if (!string.IsNullOrWhiteSpace(value))
            {
                profile[Camel(field)] = value;
            }
        }

        foreach (string field in s_intFields)
        {
            if (Get(item, field) is string value)
            {
                profile[Camel(field)] = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number) && number >= 0
                    ? number
                    : throw Invalid(name, field, value, "it must be a whole number");
            }
        }

        if (Get(item, "WarmStart") is string warm)
        {
            profile["warmStart"] = bool.TryParse(warm, out bool flag) ? flag : throw Invalid(name, "WarmStart", warm, "it must be true or false");
        }

        if (List(item, "Args") is { } args)
        {
            profile["args"] = new JsonArray([.. args.Select(a => (JsonNode?)a)]);
        }

        if (List(item, "FailurePatterns") is { } patterns)
        {
            profile["failurePatterns"] = new JsonArray([.. patterns.Select(p => (JsonNode?)p)]);
        }

        if (List(item, "Drives") is { } drives)
        {
            profile["drives"] = new JsonArray([.. drives.Select(d => (JsonNode?)Drive(name, d, isImage))]);
        }

        string? network = Get(item, "Network");
        string? networkModel = Get(item, "NetworkModel");
        if (networkModel is not null)
        {
            // A model without Network="user" still means a NIC: naming its model says so.
            profile["network"] = network is null or "user"
                ? new JsonObject { ["model"] = networkModel }
                : throw Invalid(name, "NetworkModel", networkModel, $"it needs Network=\"user\" (Network is \"{network}\")");
        }
        else if (network is not null)
        {
            profile["network"] = network;
        }

        string? consoleDevice = Get(item, "ConsoleDevice");
        string? consoleIndex = Get(item, "ConsoleIndex");
        if (consoleDevice is not null || consoleIndex is not null)
        {
            var console = new JsonObject { ["device"] = consoleDevice };
            if (consoleIndex is not null)
            {
                console["index"] = int.TryParse(consoleIndex, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index) && index >= 0
                    ? index
                    : throw Invalid(name, "ConsoleIndex", consoleIndex, "it must be a whole number");
            }

            profile["console"] = console;
        }

        return profile;
    }

    /// <summary>
    /// One entry of <c>Drives</c>: a QemuImage name or a path, then options as <c>|key=value</c>
    /// (<c>data.qcow2|interface=nvme|id=data|readOnly=true</c>), with the keys of a drive in <c>qemu-profiles.json</c>.
    /// </summary>
    private static JsonObject Drive(string profile, string entry, Func<string, bool> isImage)
    {
        string[] parts = entry.Split('|', StringSplitOptions.TrimEntries);
        string target = parts[0];
        var drive = isImage(target) ? new JsonObject { ["image"] = target } : new JsonObject { ["path"] = target };
        string[] options = [.. QemuTestKit.ProfileJsonReader.DriveFields.Except(["image", "path"])];
        foreach (string option in parts.Skip(1).Where(p => p.Length > 0))
        {
            int equals = option.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? option : option[..equals].Trim();
            string? known = options.FirstOrDefault(o => string.Equals(o, key, StringComparison.OrdinalIgnoreCase));
            if (equals < 0 || known is null)
            {
                throw Invalid(profile, "Drives", entry, $"'{option}' is not a drive option; write <image or path>|key=value|…, with keys {string.Join(", ", options)}");
            }

            string value = option[(equals + 1)..].Trim();
            drive[known] = known is "readOnly" or "snapshot"
                ? bool.TryParse(value, out bool flag) ? flag : throw Invalid(profile, "Drives", entry, $"{known} must be true or false")
                : value;
        }

        return drive;
    }

    private static string? Get(ITaskItem item, string name)
    {
        string value = item.GetMetadata(name).Trim();
        return value.Length == 0 ? null : value;
    }

    private static string[]? List(ITaskItem item, string name) =>
        Get(item, name)?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } values ? values : null;

    private static string Camel(string pascal) => char.ToLowerInvariant(pascal[0]) + pascal[1..];

    private static QemuBuildException Invalid(string profile, string metadata, string value, string why) =>
        new(ErrorCodes.ProfileMetadataInvalid, $"QemuProfile '{profile}': {metadata}=\"{value}\" is not valid: {why}.");
}
