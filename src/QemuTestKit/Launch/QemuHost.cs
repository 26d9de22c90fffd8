using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// The host facts a launch plan is decided from: the host's architecture, where the QEMU binary is, whether KVM can run
/// a guest, the run-wide accelerator override, and which firmware files exist. The default reads this host; tests pass
/// fakes to count and steer the decisions (an aarch64 guest on an x86_64 host with a usable KVM, missing firmware).
/// </summary>
/// <param name="resolveBinary">Finds the QEMU binary of a local profile.</param>
/// <param name="kvmUsable">Whether <c>/dev/kvm</c> works with the binary for a guest of the host's own architecture
/// (the architecture check is the plan's: it is asked only when the guest's architecture is the host's).</param>
/// <param name="acceleratorOverride">The value of <c>QEMUTESTKIT_ACCEL</c>.</param>
/// <param name="architecture">The host's architecture in QEMU's spelling; null for this host's.</param>
/// <param name="fileExists">Whether a file exists; null for the file system's answer.</param>
internal sealed class QemuHost(
    Func<QemuProfile, string> resolveBinary,
    Func<string, string, bool> kvmUsable,
    Func<string?> acceleratorOverride,
    string? architecture = null,
    Func<string, bool>? fileExists = null)
{
    /// <summary>This host: <see cref="QemuBinaryLocator"/>, <see cref="KvmProbe"/> and <c>QEMUTESTKIT_ACCEL</c>.</summary>
    public static QemuHost Current { get; } = new(
        QemuBinaryLocator.Resolve,
        (arch, binary) => KvmProbe.IsUsable(arch, () => binary),
        () => Environment.GetEnvironmentVariable(KvmProbe.AccelEnvironmentVariable));

    /// <summary>The host's architecture (<c>x86_64</c>, <c>aarch64</c>): KVM runs only guests of this one.</summary>
    public string Architecture { get; } = architecture ?? HostArchitecture.Current;

    /// <summary>The QEMU binary for a profile that runs locally.</summary>
    /// <exception cref="FileNotFoundException">No binary was found; the message says how to provide one.</exception>
    public string ResolveBinary(QemuProfile profile) => resolveBinary(profile);

    /// <summary>Whether KVM can run a guest of the architecture with that binary.</summary>
    public bool KvmUsable(string arch, string binary) => kvmUsable(arch, binary);

    /// <summary>The value of <c>QEMUTESTKIT_ACCEL</c>, if set.</summary>
    public string? AcceleratorOverride => acceleratorOverride();

    /// <summary>Whether a file exists on this host (firmware files).</summary>
    public bool FileExists(string path) => fileExists is null ? File.Exists(path) : fileExists(path);
}
