namespace QemuTestKit;

/// <summary>
/// The host facts a launch plan is decided from: where the QEMU binary is, whether KVM can run a guest, and the
/// run-wide accelerator override. The default reads this host; tests pass fakes to count and steer the decisions.
/// </summary>
internal sealed class QemuHost(Func<QemuProfile, string> resolveBinary, Func<string, string, bool> kvmUsable, Func<string?> acceleratorOverride)
{
    /// <summary>This host: <see cref="QemuBinaryLocator"/>, <see cref="KvmProbe"/> and <c>QEMUTESTKIT_ACCEL</c>.</summary>
    public static QemuHost Current { get; } = new(
        QemuBinaryLocator.Resolve,
        (arch, binary) => KvmProbe.IsUsable(arch, () => binary),
        () => Environment.GetEnvironmentVariable(KvmProbe.AccelEnvironmentVariable));

    /// <summary>The QEMU binary for a profile that runs locally.</summary>
    /// <exception cref="FileNotFoundException">No binary was found; the message says how to provide one.</exception>
    public string ResolveBinary(QemuProfile profile) => resolveBinary(profile);

    /// <summary>Whether KVM can run a guest of the architecture with that binary.</summary>
    public bool KvmUsable(string arch, string binary) => kvmUsable(arch, binary);

    /// <summary>The value of <c>QEMUTESTKIT_ACCEL</c>, if set.</summary>
    public string? AcceleratorOverride => acceleratorOverride();
}
