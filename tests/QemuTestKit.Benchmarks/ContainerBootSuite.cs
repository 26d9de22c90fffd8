using System.Diagnostics;
using System.Text.RegularExpressions;
using QemuTestKit.Containers;
using QemuTestKit.Sdk;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// The tiny guest booted by the local launcher and by the container launcher (unix-socket transport on the local engine,
/// streams transport on QTK_DOCKER_TCP_HOST when set), measured in one run and alternated so machine noise hits all alike:
/// launch (QMP negotiated), boot to the shell prompt, one shell command, and shutdown.
/// Needs what the container tests need: <c>source build/docker/start-dockerd.sh</c>.
/// </summary>
internal sealed class ContainerBootSuite : IBenchmarkSuite
{
    private const int Rounds = 5;

    public string Name => "container-boot";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        var runners = new List<(string Name, Func<IQemuLauncher> Launcher)>
        {
            ("local", () => ProcessQemuLauncher.Default),
            ("container-unix", () => new ContainerQemuLauncher(new QemuContainerOptions { Transport = QemuContainerTransport.UnixSocket })),
        };
        if (Environment.GetEnvironmentVariable("QTK_DOCKER_TCP_HOST") is { Length: > 0 } tcp)
        {
            runners.Add(("container-streams-tcp", () => new ContainerQemuLauncher(new QemuContainerOptions { DockerEndpoint = new Uri(tcp), Transport = QemuContainerTransport.Streams })));
        }

        var samples = runners.ToDictionary(r => r.Name, _ => (Launch: new List<double>(), Boot: new List<double>(), Command: new List<double>(), Shutdown: new List<double>()));

        // One warm-up each (image cache, JIT), then rounds alternating the runners.
        foreach ((string _, Func<IQemuLauncher> launcher) in runners)
        {
            await BootOnceAsync(launcher(), cancellationToken);
        }

        for (int round = 0; round < Rounds; round++)
        {
            foreach ((string name, Func<IQemuLauncher> launcher) in runners)
            {
                (double launch, double boot, double command, double shutdown) = await BootOnceAsync(launcher(), cancellationToken);
                samples[name].Launch.Add(launch);
                samples[name].Boot.Add(boot);
                samples[name].Command.Add(command);
                samples[name].Shutdown.Add(shutdown);
            }
        }

        foreach ((string name, var s) in samples)
        {
            report.Result($"{name}.launch_ms.median", BenchmarkReport.Summarize(s.Launch).Median);
            report.Result($"{name}.boot_to_prompt_ms.median", BenchmarkReport.Summarize(s.Boot).Median);
            report.Result($"{name}.shell_command_ms.median", BenchmarkReport.Summarize(s.Command).Median);
            report.Result($"{name}.shutdown_ms.median", BenchmarkReport.Summarize(s.Shutdown).Median);
        }

        double localBoot = BenchmarkReport.Summarize(samples["local"].Boot).Median;
        foreach (string name in samples.Keys.Where(n => n != "local"))
        {
            report.Ratio($"{name}.boot_to_prompt_vs_local", BenchmarkReport.Summarize(samples[name].Boot).Median / localBoot);
            report.Ratio($"{name}.shell_command_vs_local", BenchmarkReport.Summarize(samples[name].Command).Median / BenchmarkReport.Summarize(samples["local"].Command).Median);
        }
    }

    private static async Task<(double Launch, double Boot, double Command, double Shutdown)> BootOnceAsync(IQemuLauncher launcher, CancellationToken cancellationToken)
    {
        TimeSpan timeout = TimeSpan.FromSeconds(180);
        await using var machine = new QemuMachine(TestPrerequisites.QemuBinary, new QemuMachineOptions { Launcher = launcher, QmpTimer = timeout, HostFiles = [TestPrerequisites.Kernel, TestPrerequisites.Initrd] });
        machine.AddArgs(
            "-m", "256", "-nodefaults", "-no-reboot", "-kernel", TestPrerequisites.Kernel, "-initrd", TestPrerequisites.Initrd,
            "-append", TestPrerequisites.Append);
        machine.SetConsole();

        var clock = Stopwatch.StartNew();
        await machine.LaunchAsync(cancellationToken);
        double launch = clock.Elapsed.TotalMilliseconds;
        machine.Console.Prompt = new Regex(Regex.Escape(TestPrerequisites.Prompt), RegexOptions.CultureInvariant);
        await machine.Console.WaitForAsync(TestPrerequisites.Prompt, null, timeout, cancellationToken);
        double boot = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        string answer = await machine.Console.RunAsync("echo $((6*7))", timeout, cancellationToken);
        double command = clock.Elapsed.TotalMilliseconds;
        if (answer != "42")
        {
            throw new InvalidOperationException($"the guest answered '{answer}'");
        }

        clock.Restart();
        await machine.ShutdownAsync(cancellationToken: cancellationToken);
        return (launch, boot, command, clock.Elapsed.TotalMilliseconds);
    }
}
