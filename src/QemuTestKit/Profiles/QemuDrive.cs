namespace QemuTestKit;

/// <summary>
/// A disk image attached to a profile's VM. QEMU gets a backend and a device, named by <see cref="Id"/>:
/// <c>-drive if=none,id=disk0,file=…,format=…</c> plus <c>-device virtio-blk-pci,drive=disk0</c> (or <c>nvme</c>,
/// <c>ide-hd</c>, <c>scsi-hd</c> on a <c>virtio-scsi-pci</c> controller), so a test can name the drive in QMP
/// (<c>query-block</c>, <c>blockdev-snapshot-sync</c>) without depending on QEMU's automatic ids such as <c>none0</c>.
/// </summary>
/// <param name="Path">Absolute path of the image file.</param>
public sealed record QemuDrive(string Path)
{
    /// <summary>The image format (<c>qcow2</c>, <c>raw</c>, …); null lets QEMU probe (it warns for raw).</summary>
    public string? Format { get; init; }

    /// <summary>
    /// The device the guest sees: <c>virtio</c> (the default when null: <c>virtio-blk-pci</c>, on every architecture),
    /// <c>nvme</c>, <c>ide</c>, <c>scsi</c> (<c>scsi-hd</c> on one shared <c>virtio-scsi-pci</c> controller), or
    /// <c>none</c> (the backend only: add your own <c>-device …,drive=&lt;id&gt;</c> in <see cref="QemuProfile.Args"/>).
    /// See <see cref="QemuDriveInterfaces"/>.
    /// </summary>
    public string? Interface { get; init; }

    /// <summary>
    /// The QEMU id of the drive (and of its device, with <c>-dev</c> appended); null for <c>disk0</c>, <c>disk1</c>, …
    /// by position. A letter, then letters, digits, <c>-</c>, <c>_</c> or <c>.</c>.
    /// </summary>
    public string? Id { get; init; }

    /// <summary>Attach read-only (<c>readonly=on</c>). QEMU refuses a read-only <c>ide</c> hard disk.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Write changes to a temporary overlay that is discarded when QEMU exits (<c>snapshot=on</c>).</summary>
    public bool Snapshot { get; init; }

    /// <summary>QEMU's cache mode (<c>none</c>, <c>writeback</c>, <c>writethrough</c>, <c>directsync</c>, <c>unsafe</c>); null for QEMU's default.</summary>
    public string? Cache { get; init; }

    /// <summary>The manifest image name this drive came from, if any.</summary>
    public string? Image { get; init; }
}
