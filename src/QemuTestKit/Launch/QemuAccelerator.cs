namespace QemuTestKit;

/// <summary>The accelerator QEMU runs a guest with (<c>"accel"</c> in a profile file, <c>-accel</c> on QEMU's command line).</summary>
public enum QemuAccelerator
{
    /// <summary>
    /// <c>auto</c>: KVM when the guest is of the host's architecture, <c>/dev/kvm</c> is usable and QEMU can run its CPU
    /// on it, else TCG. Only a profile says this; a <c>QemuLaunchPlan</c> always holds the decision.
    /// </summary>
    Auto,

    /// <summary><c>kvm</c>: hardware virtualisation through <c>/dev/kvm</c> (Linux).</summary>
    Kvm,

    /// <summary><c>tcg</c>: QEMU's own emulator; slower, works everywhere and for every guest architecture.</summary>
    Tcg,

    /// <summary><c>hvf</c>: Apple's Hypervisor.framework (macOS), for a guest of the Mac's own architecture. Never chosen by <see cref="Auto"/>.</summary>
    Hvf,

    /// <summary><c>whpx</c>: the Windows Hypervisor Platform, for an x86_64 guest on Windows. Never chosen by <see cref="Auto"/>.</summary>
    Whpx,
}
