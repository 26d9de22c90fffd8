namespace QemuTestKit;

/// <summary>Settings for a <see cref="QemuGuest"/>; every one has a default that suits the tiny guest under TCG.</summary>
public sealed record QemuGuestOptions
{
    /// <summary>Where <see cref="QemuGuest.ScreenshotAsync"/> writes its PNGs; the machine's log folder when null.</summary>
    public string? ArtifactsDirectory { get; init; }

    /// <summary>How long a wait (<c>WaitFor…</c>, <c>WaitUntilSucceeds</c>) lasts when the call gives no timeout: 2 minutes.</summary>
    public TimeSpan DefaultWaitTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long one piece of a file copy (256 KiB) may take before the copy fails naming the byte offset: 3 minutes.
    /// A serial console under TCG moves about 10–100 KB/s, so a copy's total time grows with the file's size.
    /// </summary>
    public TimeSpan CopyChunkTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long a single guest command or QMP call (not a wait) may take: 1 minute.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The id of the user-mode (<c>-netdev user</c> / <c>-nic user</c>) network that <see cref="QemuGuest.ForwardPortAsync"/>
    /// adds forwards to; when null, the VM's only user-mode network.
    /// </summary>
    public string? NetdevId { get; init; }
}
