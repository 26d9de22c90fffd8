using System.Runtime.InteropServices;

namespace QemuTestKit.Internal;

/// <summary>
/// Maps .NET architecture names to QEMU's target names and to the packages that ship them. Compiled into the runtime and,
/// as a linked file, into the MSBuild tasks, which must not load the runtime assembly.
/// </summary>
internal static class HostArchitecture
{
    public static string Current => ToQemuArch(RuntimeInformation.OSArchitecture);

    public static string ToQemuArch(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.X86 => "i386",
        Architecture.Arm64 => "aarch64",
        Architecture.Arm or Architecture.Armv6 => "arm",
        Architecture.RiscV64 => "riscv64",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64",
        Architecture.LoongArch64 => "loongarch64",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    /// <summary>The Debian/Ubuntu package that holds qemu-system-<paramref name="arch"/>.</summary>
    public static string DebianPackage(string arch) => arch switch
    {
        "x86_64" or "i386" => "qemu-system-x86",
        "aarch64" or "arm" => "qemu-system-arm",
        "ppc" or "ppc64" => "qemu-system-ppc",
        "s390x" => "qemu-system-s390x",
        "mips" or "mipsel" or "mips64" or "mips64el" => "qemu-system-mips",
        "sparc" or "sparc64" => "qemu-system-sparc",
        _ => "qemu-system-misc",
    };

    public static string InstallHint(string arch) =>
        $"install QEMU (Debian/Ubuntu: 'apt-get install {DebianPackage(arch)}'; Fedora: 'dnf install qemu-system-{(arch is "x86_64" or "i386" ? "x86" : arch)}'; macOS: 'brew install qemu'; Windows: 'winget install SoftwareFreedomConservancy.QEMU')";
}
