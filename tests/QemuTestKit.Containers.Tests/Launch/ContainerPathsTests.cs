using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Sdk;
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
    public void The_streams_transport_relays_every_socket_QEMU_serves_from_the_spec_the_console_the_agent_and_the_gdb_stub()
    {
        var spec = new QemuLaunchSpec
        {
            Wrapper = [],
            Binary = "qemu-system-x86_64",
            Arguments = [],
            LogPath = "/m/qemu.log",
            SocketDirectory = "/m",
            SharedDirectories = ["/m"],
            MonitorPath = "/m/qmp.sock",
            ConsolePath = "/m/console.sock",
            GuestAgentPath = "/m/qga.sock",
            GdbPath = "/m/gdb.sock",
        };

        Assert.Equal(["/m/console.sock", "/m/qga.sock", "/m/gdb.sock"], StreamsContainer.ServedPaths(spec));
        Assert.Equal(["/m/console.sock"], StreamsContainer.ServedPaths(spec with { GuestAgentPath = null, GdbPath = null }));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_folder_of_a_socket_outside_the_machine_folders_is_shared()
    {
        using var scratch = new LaunchScratch();
        string socketFolder = Directory.CreateTempSubdirectory("qtk-short,").FullName;
        try
        {
            var launcher = new SpecRecordingLauncher();
            var machine = new QemuMachine("qemu-system-x86_64", new QemuMachineOptions
            {
                MonitorAddress = QemuSocketAddress.Unix(Path.Combine(socketFolder, "m.sock")),
                LogDir = scratch.Directory,
                Launcher = launcher,
            });

            await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(TestContext.Current.CancellationToken));

            // The machine says where its sockets are as data; nothing reads the chardev arguments back.
            Assert.Contains(socketFolder, ContainerPaths.For(launcher.Spec!));
        }
        finally
        {
            Directory.Delete(socketFolder, recursive: true);
        }
    }

    [Fact]
    public void Host_files_are_data_an_argument_that_only_looks_like_a_file_is_not_copied()
    {
        using var scratch = new LaunchScratch();
        QemuLaunchSpec spec = scratch.GuestSpec("console=ttyS0", "-fw_cfg", "name=opt/x,file=" + Path.Combine(TestPrerequisites.GuestDirectory, "guest.json"));

        (_, IReadOnlyList<string> files) = ContainerPaths.ToCopy(spec);

        Assert.Equal([TestPrerequisites.Kernel, TestPrerequisites.Initrd], files);
    }

    /// <summary>Records the spec and refuses to start anything.</summary>
    private sealed class SpecRecordingLauncher : IQemuLauncher
    {
        public QemuLaunchSpec? Spec { get; private set; }

        public bool QemuCanConnectToHost => true;

        public string QemuListenHost => "127.0.0.1";

        public Task<IQemuProcess> StartAsync(QemuLaunchSpec spec, CancellationToken cancellationToken = default)
        {
            Spec = spec;
            throw new QemuLaunchException("recording only", exitCode: null, spec.CommandLine, output: "");
        }
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
