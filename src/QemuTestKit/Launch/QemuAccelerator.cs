namespace QemuTestKit;

/// <summary>The accelerator QEMU runs a guest with (<c>"accel"</c> in a profile file, <c>-accel</c> on QEMU's command line).</summary>
public enum QemuAccelerator
{
    /// <summary>
    /// <c>auto</c>: KVM when <c>/dev/kvm</c> is usable and QEMU can run its CPU on it, else TCG. Only a profile says
    /// this; a <c>QemuLaunchPlan</c> always holds the decision (<see cref="Kvm"/> or <see cref="Tcg"/>).
    /// </summary>
    Auto,

    /// <summary><c>kvm</c>: hardware virtualisation through <c>/dev/kvm</c>.</summary>
    Kvm,

    /// <summary><c>tcg</c>: QEMU's own emulator; slower, works everywhere.</summary>
    Tcg,
}
