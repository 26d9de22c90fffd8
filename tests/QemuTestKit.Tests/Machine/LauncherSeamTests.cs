using System.Net;
using QemuTestKit.Sdk;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Machine;

/// <summary>The launcher seam: a launcher whose QEMU cannot connect back makes QEMU listen on TCP and the machine connect.</summary>
public sealed class LauncherSeamTests
{
    [Fact(Timeout = 120_000)]
    public async Task When_QEMU_cannot_connect_back_QMP_and_console_use_TCP_where_QEMU_listens()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var launcher = new NoConnectBackLauncher();
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Guest(new QemuMachineOptions { Launcher = launcher });

        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        QemuLaunchSpec spec = launcher.LastSpec!;
        Assert.Equal(2, spec.QemuListenPorts.Count);
        Assert.Contains(spec.QemuListenPorts, p => machine.CommandLine.Contains($"socket,id=mon,host=127.0.0.1,port={p},server=on,wait=off"));
        Assert.Contains(spec.QemuListenPorts, p => machine.CommandLine.Contains($"socket,id=console,host=127.0.0.1,port={p},server=on,wait=off"));
        Assert.Contains(machine.SockDir, spec.SharedDirectories);
        Assert.Contains(Path.GetDirectoryName(TestPrerequisites.Kernel)!, spec.SharedDirectories);
        Assert.Equal(spec.CommandLine, machine.CommandLine);
        Assert.True(launcher.Resolved > 0);
        Assert.Equal("Linux", await machine.Console.RunAsync("uname -s", cancellationToken: ct));
        Assert.Equal("running", (await machine.CommandAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());

        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task When_QEMU_cannot_connect_back_a_unix_monitor_address_is_served_by_QEMU()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var dir = new ScratchDirectory();
        string socket = Path.Combine(dir.Path, "mon.sock");
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions
        {
            Launcher = new NoConnectBackLauncher(),
            MonitorAddress = QemuSocketAddress.Unix(socket),
        });

        await machine.LaunchAsync(ct);

        Assert.Contains($"socket,id=mon,path={socket},server=on,wait=off", machine.CommandLine);
        Assert.True((await machine.CommandAsync("query-status", cancellationToken: ct)).GetProperty("running").GetBoolean());
        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.False(File.Exists(socket));
    }

    /// <summary>Runs QEMU locally but claims it cannot reach our sockets, like a remote Docker engine.</summary>
    private sealed class NoConnectBackLauncher : IQemuLauncher
    {
        public QemuLaunchSpec? LastSpec { get; private set; }

        public int Resolved;

        public bool QemuCanConnectToHost => false;

        public string QemuListenHost => "127.0.0.1";

        public async Task<IQemuProcess> StartAsync(QemuLaunchSpec spec, CancellationToken cancellationToken = default)
        {
            LastSpec = spec;
            return new CountingProcess(await ProcessQemuLauncher.Default.StartAsync(spec, cancellationToken), this);
        }

        private sealed class CountingProcess(IQemuProcess inner, NoConnectBackLauncher owner) : IQemuProcess
        {
            public int? Pid => inner.Pid;

            public bool HasExited => inner.HasExited;

            public int? ExitCode => inner.ExitCode;

            public int? Signal => inner.Signal;

            public Task WaitForExitAsync(CancellationToken cancellationToken = default) => inner.WaitForExitAsync(cancellationToken);

            public Task KillAsync(CancellationToken cancellationToken = default) => inner.KillAsync(cancellationToken);

            public DnsEndPoint ResolveTcpEndpoint(int port)
            {
                Interlocked.Increment(ref owner.Resolved);
                return inner.ResolveTcpEndpoint(port);
            }

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
