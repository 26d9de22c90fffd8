using System.Runtime.InteropServices;

namespace QemuTestKit;

/// <summary>Decides whether KVM can accelerate a guest of a given architecture on this host.</summary>
internal static class KvmProbe
{
    private static readonly Lazy<bool> DeviceUsable = new(ProbeDevice);

    /// <summary>True when <c>/dev/kvm</c> opens read-write and the guest has the host's architecture.</summary>
    public static bool IsUsable(string arch) => HostArch() == arch && DeviceUsable.Value;

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

    private static string HostArch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "aarch64",
        Architecture.X86 => "i386",
        Architecture.Arm => "arm",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64",
        Architecture.RiscV64 => "riscv64",
        _ => "unknown",
    };
}
