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
        ["Arch", "Machine", "Memory", "Accel", "Kernel", "Initrd", "Append", "ReadyPattern", "Prompt", "Runner", "ContainerImage"];

    private static readonly string[] s_intFields = ["Smp", "BootTimeoutSeconds", "ShutdownTimeoutSeconds"];

    /// <summary>Every metadata name this reader understands; a typo in another one is an error, not silence.</summary>
    public static readonly IReadOnlySet<string> KnownMetadata = new HashSet<string>(
        s_stringFields.Concat(s_intFields).Concat(["WarmStart", "Args", "FailurePatterns", "Drives", "ConsoleDevice", "ConsoleIndex"]),
        StringComparer.OrdinalIgnoreCase);

    public static bool IsProfileFile(ITaskItem item) => item.ItemSpec.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    public static JsonObject Read(ITaskItem item, Func<string, bool> isImage)
    {
        string name = item.ItemSpec;
        var profile = new JsonObject();
        foreach (string metadataName in item.MetadataNames.Cast<string>())
        {
            if (!KnownMetadata.Contains(metadataName) && !IsWellKnown(metadataName) && item.GetMetadata(metadataName).Length > 0)
            {
                throw Invalid(name, metadataName, item.GetMetadata(metadataName), $"it is not a profile field (known: {string.Join(", ", KnownMetadata.Order(StringComparer.Ordinal))})");
            }
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
            // A drive names a QemuImage, or else is a path.
            profile["drives"] = new JsonArray([.. drives.Select(d => (JsonNode?)(isImage(d) ? new JsonObject { ["image"] = d } : new JsonObject { ["path"] = d }))]);
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

    private static string? Get(ITaskItem item, string name)
    {
        string value = item.GetMetadata(name).Trim();
        return value.Length == 0 ? null : value;
    }

    private static string[]? List(ITaskItem item, string name) =>
        Get(item, name)?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } values ? values : null;

    private static string Camel(string pascal) => char.ToLowerInvariant(pascal[0]) + pascal[1..];

    private static bool IsWellKnown(string metadataName) => metadataName is
        "FullPath" or "RootDir" or "Filename" or "Extension" or "RelativeDir" or "Directory" or "RecursiveDir" or "Identity"
        or "ModifiedTime" or "CreatedTime" or "AccessedTime" or "DefiningProjectFullPath" or "DefiningProjectDirectory"
        or "DefiningProjectName" or "DefiningProjectExtension" or "OriginalItemSpec";

    private static QemuBuildException Invalid(string profile, string metadata, string value, string why) =>
        new(ErrorCodes.ProfileMetadataInvalid, $"QemuProfile '{profile}': {metadata}=\"{value}\" is not valid: {why}.");
}
