namespace QemuTestKit.Build.Images;

/// <summary>One <c>QemuImage</c> item, validated and with its destination decided (no file is touched to plan it).</summary>
internal sealed record ImageSpec(
    string Source,
    Uri? RemoteUri,
    string? LocalPath,
    string? ExpectedSha256,
    Compression Compression,
    string? TargetFormat,
    string Name,
    string StagedPath,
    string? ManifestFormat)
{
    public bool IsRemote => RemoteUri is not null;

    /// <summary>What the build does to the source, as part of the cache key of the result.</summary>
    public string? TransformKey => (Compression, TargetFormat) switch
    {
        (Compression.None, null) => null,
        (Compression.None, string format) => format,
        (Compression compression, null) => "unpacked-" + compression.ToString().ToLowerInvariant(),
        (Compression compression, string format) => "unpacked-" + compression.ToString().ToLowerInvariant() + "." + format,
    };
}
