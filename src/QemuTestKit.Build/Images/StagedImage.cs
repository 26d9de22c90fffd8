namespace QemuTestKit.Build.Images;

/// <summary>An image in the output folder, as the manifest lists it: its SHA-256 is that of the staged file.</summary>
internal sealed record StagedImage(string Name, string Path, string Sha256, string? Format);
