using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// The drive interfaces and cache modes a profile may name, the id rule, and the device each interface becomes: the
/// one place these are decided, for the profile reader, the MSBuild tasks (linked source) and the argv writer.
/// </summary>
internal static partial class QemuDriveInterfaces
{
    public const string Virtio = "virtio";
    public const string Nvme = "nvme";
    public const string Ide = "ide";
    public const string Scsi = "scsi";
    public const string None = "none";

    /// <summary>The id of the <c>virtio-scsi-pci</c> controller that every <c>scsi</c> drive of a VM shares.</summary>
    public const string ScsiControllerId = "scsi0";

    public static IReadOnlyList<string> Names { get; } = [Virtio, Nvme, Ide, Scsi, None];

    public static IReadOnlyList<string> CacheModes { get; } = ["none", "writeback", "writethrough", "directsync", "unsafe"];

    /// <summary>The id of a drive that names none: <c>disk</c> and its position.</summary>
    public static string DefaultId(int index) => "disk" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>QEMU's id syntax (qemu_opts_id_wellformed): a letter, then letters, digits, '-', '_' or '.'.</summary>
    public static bool IsWellFormedId(string id) => IdPattern().IsMatch(id);

    /// <summary>The guest-visible device of a drive's interface, or null for <c>none</c>.</summary>
    /// <exception cref="ArgumentException">The interface is not one of <see cref="Names"/>.</exception>
    public static string? DeviceOf(string? driveInterface, string id) => (driveInterface ?? Virtio) switch
    {
        Virtio => $"virtio-blk-pci,drive={id},id={id}-dev",
        // NVMe controllers need a serial; the id is unique and stable, so the guest's /dev/disk/by-id names are too.
        Nvme => $"nvme,drive={id},serial={id},id={id}-dev",
        Ide => $"ide-hd,drive={id},id={id}-dev",
        Scsi => $"scsi-hd,drive={id},bus={ScsiControllerId}.0,id={id}-dev",
        None => null,
        string other => throw new ArgumentException(
            $"Drive '{id}' has interface '{other}'; allowed: {string.Join(", ", Names)}.", nameof(driveInterface)),
    };

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
