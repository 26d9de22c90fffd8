namespace QemuTestKit.Internal;

/// <summary>
/// How to install the host tools the kit needs besides QEMU itself (QEMU's hint depends on the architecture:
/// <see cref="HostArchitecture.InstallHint"/>).
/// </summary>
internal static class HostToolHints
{
    /// <summary>Where qemu-img comes from on the usual hosts.</summary>
    public const string QemuImg = "install qemu-img (Debian/Ubuntu: 'apt-get install qemu-utils'; Fedora: 'dnf install qemu-img'; macOS: 'brew install qemu')";
}
