using Microsoft.Build.Framework;

namespace QemuTestKit.Build.Internal;

/// <summary>
/// The one check for custom metadata on the kit's items: a name the kit does not know is an error listing the known
/// ones, because a typo such as <c>Sha="…"</c> for <c>Sha256</c> would otherwise be ignored and turn a check off.
/// </summary>
internal static class ItemMetadata
{
    /// <summary>The first custom metadata name (with a value) not in <paramref name="known"/>, if any.</summary>
    public static string? FirstUnknown(ITaskItem item, IReadOnlySet<string> known) =>
        item.MetadataNames.Cast<string>().FirstOrDefault(name =>
            !known.Contains(name) && !IsWellKnown(name) && item.GetMetadata(name).Length > 0);

    /// <summary>MSBuild's own item metadata, which every item has.</summary>
    private static bool IsWellKnown(string metadataName) => metadataName is
        "FullPath" or "RootDir" or "Filename" or "Extension" or "RelativeDir" or "Directory" or "RecursiveDir" or "Identity"
        or "ModifiedTime" or "CreatedTime" or "AccessedTime" or "DefiningProjectFullPath" or "DefiningProjectDirectory"
        or "DefiningProjectName" or "DefiningProjectExtension" or "OriginalItemSpec";
}
