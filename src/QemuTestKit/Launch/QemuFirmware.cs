namespace QemuTestKit;

/// <summary>The firmware a profile's VM starts (<c>"firmware"</c> in a profile file).</summary>
public enum QemuFirmware
{
    /// <summary>
    /// <c>default</c>: QEMU's own default firmware for the machine (SeaBIOS on x86 <c>pc</c>/<c>q35</c>, none on
    /// aarch64 <c>virt</c>); what a <c>-kernel</c> boot needs.
    /// </summary>
    Default,

    /// <summary>
    /// <c>uefi</c>: UEFI firmware as two pflash drives, the code read-only and a private writable copy of the variable
    /// store for each VM: OVMF on x86_64 (Debian package <c>ovmf</c>), AAVMF on aarch64 (<c>qemu-efi-aarch64</c>).
    /// The launch plan finds the files (<c>QemuLaunchPlan.Firmware</c>).
    /// </summary>
    Uefi,
}
