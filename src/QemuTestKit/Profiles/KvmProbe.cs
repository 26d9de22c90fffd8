using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// Decides whether KVM can accelerate a guest of a given architecture on this host: <c>/dev/kvm</c> must open
/// read-write, and on x86 QEMU must be able to create its default CPU on it.
/// </summary>
/// <remarks>
/// The second check exists because a <c>/dev/kvm</c> can open and still be useless: nested inside some sandboxes
/// (Firecracker-style hosts) KVM lacks baseline CPU features, QEMU warns "host doesn't support requested feature" and
/// the guest kernel hangs before printing a line. TCG is slower but works; a hang does not.
/// </remarks>
internal static class KvmProbe
{
    public const string AccelEnvironmentVariable = "QEMUTESTKIT_ACCEL";

    private static readonly Lazy<bool> DeviceUsable = new(ProbeDevice);
    private static readonly ConcurrentDictionary<string, bool> CpuUsable = new(StringComparer.Ordinal);

    /// <summary>
    /// True when KVM can run a guest of <paramref name="arch"/>, the host's own architecture (the launch plan asks only
    /// then), with the given QEMU binary.
    /// </summary>
    public static bool IsUsable(string arch, Func<string> qemuBinary)
    {
        if (!DeviceUsable.Value)
        {
            return false;
        }

        return arch is not ("x86_64" or "i386") || CpuUsable.GetOrAdd(qemuBinary(), ProbeCpu);
    }

    private static bool ProbeDevice()
    {
        // Existence is not enough: without membership of the kvm group the open fails, and QEMU would too.
        try
        {
            using FileStream stream = new("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Creates (never runs) a KVM VM with QEMU's default CPU and reads QEMU's verdict (~0.2 s, once per binary).</summary>
    private static bool ProbeCpu(string qemuBinary)
    {
        try
        {
            HostToolResult result = HostToolRunner.Run(
                qemuBinary,
                ["-accel", "kvm", "-machine", "pc", "-nodefaults", "-display", "none", "-S", "-monitor", "stdio"],
                TimeSpan.FromSeconds(10),
                standardInput: "quit\n");
            return result.ExitCode == 0
                && !result.StandardError.Contains("doesn't support requested feature", StringComparison.Ordinal)
                && !result.StandardOutput.Contains("doesn't support requested feature", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is HostToolException or TimeoutException)
        {
            return false;
        }
    }
}
