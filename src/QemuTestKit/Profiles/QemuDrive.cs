namespace QemuTestKit;

/// <summary>A disk image attached to a profile's VM (<c>-drive file=…,format=…,if=…</c>).</summary>
/// <param name="Path">Absolute path of the image file.</param>
public sealed record QemuDrive(string Path)
{
    /// <summary>The image format (<c>qcow2</c>, <c>raw</c>, …); null lets QEMU probe (it warns for raw).</summary>
    public string? Format { get; init; }

    /// <summary>The drive interface (<c>virtio</c>, <c>ide</c>, <c>none</c>, …); null for QEMU's default.</summary>
    public string? Interface { get; init; }

    /// <summary>Attach read-only.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Write changes to a temporary overlay that is discarded when QEMU exits (<c>snapshot=on</c>).</summary>
    public bool Snapshot { get; init; }

    /// <summary>The manifest image name this drive came from, if any.</summary>
    public string? Image { get; init; }
}
