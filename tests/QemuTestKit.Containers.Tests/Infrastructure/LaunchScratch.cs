using QemuTestKit.Sdk;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Infrastructure;

/// <summary>A temp folder with a socket folder and a log file, and launch specs for the tiny guest that use it.</summary>
internal sealed class LaunchScratch : IDisposable
{
    public LaunchScratch()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("qtk-ctest-").FullName;
        SocketDirectory = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "sock")).FullName;
        // The log's name becomes the container's qemutestkit.machine label: unique, so parallel tests see only their own.
        Name = "launch-" + Guid.NewGuid().ToString("N")[..10];
        LogPath = Path.Combine(Directory, Name + ".log");
    }

    public string Name { get; }

    public string Directory { get; }

    public string SocketDirectory { get; }

    public string LogPath { get; }

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    /// <summary>The tiny guest with its serial console on QEMU's stdout, so the container's output is the console.</summary>
    public QemuLaunchSpec GuestSpec(string append, params string[] extra) => new()
    {
        Wrapper = [],
        Binary = "/usr/bin/qemu-system-x86_64",
        Arguments =
        [
            "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", TestPrerequisites.Kernel, "-initrd", TestPrerequisites.Initrd,
            "-append", append, "-serial", "stdio", .. extra,
        ],
        LogPath = LogPath,
        SocketDirectory = SocketDirectory,
        SharedDirectories = [Directory, TestPrerequisites.GuestDirectory],
        HostFiles = [TestPrerequisites.Kernel, TestPrerequisites.Initrd],
    };

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
