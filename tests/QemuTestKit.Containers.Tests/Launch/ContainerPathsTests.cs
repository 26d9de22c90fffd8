using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Launch;

/// <summary>Which host folders a container gets: bind mounts (local engine) and copies (TCP transport).</summary>
public sealed class ContainerPathsTests
{
    [Fact]
    public void Nested_and_system_folders_are_dropped()
    {
        IReadOnlyList<string> folders = ContainerPaths.Minimal(["/tmp/a/b", "/tmp/a", "/tmp/a/", "/", "/proc/1", "/dev", "/srv/x"]);

        Assert.Equal(["/srv/x", "/tmp/a"], folders);
    }

    [Fact]
    public void The_folder_of_a_socket_path_is_shared_even_outside_the_spec_folders()
    {
        using var scratch = new LaunchScratch();
        QemuLaunchSpec spec = scratch.GuestSpec("console=ttyS0", "-chardev", "socket,id=mon,path=/tmp/qtk-short,,x/m.sock");

        Assert.Contains("/tmp/qtk-short,x", ContainerPaths.For(spec));
    }

    [Fact]
    public void Tcp_copies_the_machine_folders_whole_and_of_other_folders_only_the_named_files()
    {
        using var scratch = new LaunchScratch();
        QemuLaunchSpec spec = scratch.GuestSpec("console=ttyS0");

        (IReadOnlyList<string> folders, IReadOnlyList<string> files) = ContainerPaths.ToCopy(spec);

        Assert.Equal([scratch.Directory], folders);
        Assert.Equal([TestPrerequisites.Kernel, TestPrerequisites.Initrd], files);
        Assert.DoesNotContain(Path.Combine(TestPrerequisites.GuestDirectory, "guest.json"), files);
    }
}
