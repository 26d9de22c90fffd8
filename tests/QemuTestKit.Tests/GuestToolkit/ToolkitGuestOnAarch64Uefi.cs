namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// The aarch64 guest with a screen: <c>tiny-uefi-aarch64</c> with QEMU's <c>ramfb</c>. The <c>-kernel</c> guest cannot
/// have one: Debian's arm64 cloud kernel has no DRM driver (no virtio-gpu, no bochs), and <c>virt</c> has no VGA text
/// mode, so nothing in the guest would draw on a VGA or virtio-gpu device. With UEFI, the firmware sets ramfb up (a
/// framebuffer in guest RAM that QEMU reads), hands it to the kernel as its EFI framebuffer, and the kernel's console
/// (<c>/dev/tty1</c>) draws there. No NIC: tiny-uefi has none (see BuiltInProfiles.CreateTinyUefi).
/// </summary>
public sealed class ToolkitGuestOnAarch64Uefi() : ToolkitGuest(BuiltInProfiles.TinyUefiAarch64, p => p with { Args = [.. p.Args, "-device", "ramfb"] })
{
    public override string Architecture => "aarch64";
}
