using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Sdk;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>
/// What makes the remote path safe, checked on the remote-engine stand-in (a dockerd in its own network namespace):
/// nothing listens for QMP or the console, and a test host killed with SIGKILL leaves no running QEMU behind.
/// </summary>
[Trait("Runner", "Container")]
public sealed class RemoteEngineSafetyTests
{
    /// <summary>How long QEMU may outlive a SIGKILLed owner: the supervisor polls each second; the rest is slack for a loaded box.</summary>
    private static readonly TimeSpan s_orphanBound = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 180_000)]
    public async Task No_TCP_port_listens_for_QMP_or_the_console_inside_or_outside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new ContainerLeakCheck(DockerTestEnvironment.RemoteEndpoint);
        await using QemuMachine machine = MachineFactory.Guest(new QemuMachineOptions
        {
            Launcher = new ContainerQemuLauncher(DockerTestEnvironment.RemoteOptions),
            QmpTimer = TimeSpan.FromSeconds(90),
        });
        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        // The machine asked for no TCP port, and QMP and the console answer.
        QemuLaunchSpec spec = machine.LaunchSpec!;
        Assert.Null(spec.MonitorPort);
        Assert.Null(spec.ConsolePort);
        Assert.Empty(spec.QemuListenPorts);
        Assert.Equal("running", (await machine.Qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
        Assert.Equal("7", (await machine.Console.RunAsync("echo $((3+4))", MachineFactory.BootTimeout, ct)).Trim());

        IReadOnlyList<int> pids = await ContainerPidsAsync(machine.Name, ct);
        Assert.NotEmpty(pids);
        string inContainer = await RunAsync("nsenter", ["-t", pids[0].ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "ss", "-ltnH"], ct);
        string inEngineNamespace = await RunAsync("nsenter", [$"--net=/var/run/netns/{DockerTestEnvironment.RemoteNetworkNamespace}", "ss", "-ltnpH"], ct);
        string onThisHost = await RunAsync("ss", ["-ltnpH"], ct);

        // The container has no network: nothing listens in it at all.
        Assert.True(inContainer.Trim().Length == 0, "Listening in the container: " + inContainer);
        int[] owners = [.. pids, Environment.ProcessId];
        foreach ((string where, string listing) in new[] { ("the engine's namespace", inEngineNamespace), ("this host", onThisHost) })
        {
            string[] ours = [.. listing.Split('\n').Where(line => owners.Any(pid => line.Contains($"pid={pid},", StringComparison.Ordinal)))];
            Assert.True(ours.Length == 0, $"A QEMU, relay or test process listens on TCP in {where}: {string.Join(" | ", ours)}");
        }

        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 300_000)]
    public async Task A_SIGKILLed_test_host_leaves_no_running_container_and_the_next_kit_process_removes_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Uri remote = DockerTestEnvironment.RemoteEndpoint;
        using Process host = StartStandIn(remote);
        string machine;
        try
        {
            machine = await ReadMachineNameAsync(host, ct);
            ContainerListResponse running = Assert.Single(await ListAsync(remote, machine, ct));
            Assert.Equal("running", running.State);
        }
        finally
        {
            host.Kill(); // SIGKILL: no clean-up of any kind runs in the host
            await host.WaitForExitAsync(ct);
        }

        var clock = Stopwatch.StartNew();
        while ((await ListAsync(remote, machine, ct)).Any(c => c.State == "running") && clock.Elapsed < s_orphanBound)
        {
            await Task.Delay(200, ct);
        }

        TimeSpan stopped = clock.Elapsed;
        TestContext.Current.SendDiagnosticMessage($"QEMU's container stopped {stopped.TotalSeconds:0.0} s after its owner was SIGKILLed");
        ContainerListResponse left = Assert.Single(await ListAsync(remote, machine, ct));
        Assert.True(left.State != "running", $"The container of SIGKILLed owner still runs after {s_orphanBound.TotalSeconds} s");

        // The next kit process on the engine removes what is left, whoever owned it.
        await LeftoverContainers.RemoveAsync(DockerEngine.Resolve(remote), NullLogger.Instance, ct);
        Assert.Empty(await ListAsync(remote, machine, ct));
    }

    private static Process StartStandIn(Uri endpoint)
    {
        string self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(RemoteEngineSafetyTests).Assembly.Location);
        }

        start.Environment[KilledOwnerStandIn.EndpointVariable] = endpoint.ToString();
        return Process.Start(start)!;
    }

    private static async Task<string> ReadMachineNameAsync(Process host, CancellationToken cancellationToken)
    {
        while (await host.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(KilledOwnerStandIn.ReadyLine + " ", StringComparison.Ordinal))
            {
                return line[(KilledOwnerStandIn.ReadyLine.Length + 1)..];
            }
        }

        string error = await host.StandardError.ReadToEndAsync(cancellationToken);
        throw new InvalidOperationException($"The stand-in test host exited without launching its machine: {error}");
    }

    private static async Task<IList<ContainerListResponse>> ListAsync(Uri endpoint, string machine, CancellationToken cancellationToken)
    {
        using IDockerClient client = DockerEngine.Resolve(endpoint).CreateClient();
        return await client.Containers.ListContainersAsync(
            new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Machine}={machine}"] = true } },
            },
            cancellationToken);
    }

    /// <summary>The host PIDs of the processes in <paramref name="machine"/>'s container (the engine shares this kernel).</summary>
    private static async Task<IReadOnlyList<int>> ContainerPidsAsync(string machine, CancellationToken cancellationToken)
    {
        Uri remote = DockerTestEnvironment.RemoteEndpoint;
        ContainerListResponse container = Assert.Single(await ListAsync(remote, machine, cancellationToken));
        using IDockerClient client = DockerEngine.Resolve(remote).CreateClient();
        ContainerProcessesResponse top = await client.Containers.ListProcessesAsync(container.ID, new ContainerListProcessesParameters(), cancellationToken);
        int column = top.Titles.IndexOf("PID");
        return [.. top.Processes.Select(row => int.Parse(row[column], System.Globalization.CultureInfo.InvariantCulture))];
    }

    private static async Task<string> RunAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        string error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {error}");
        return await output;
    }
}
