namespace QemuTestKit;

/// <summary>An image the build staged next to the test assembly (the manifest's <c>images</c> entry).</summary>
internal sealed record ManifestImage(string Name, string Path, string? Sha256, string? Format);
