using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Qga;
using QemuTestKit.Sdk;
using QemuTestKit.Qmp;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>
/// The local runner's end-to-end scenarios (boot the tiny guest, shell commands, QMP, launch failure, shutdown
/// failure, crash, kill, power-off) through <see cref="ContainerQemuLauncher"/>: everything above the launcher must
/// behave as with a local QEMU. One subclass per transport.
/// </summary>
public abstract class ContainerMachineScenarios
{
    private protected abstract QemuContainerOptions ContainerOptions { get; }

    private protected abstract Uri? Endpoint { get; }

    [Fact(Timeout = 180_000)]
    public async Task Boots_the_tiny_guest_runs_shell_commands_and_answers_QMP()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new ContainerLeakCheck(Endpoint);
        await using QemuMachine machine = Guest();

        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        Assert.True(machine.IsRunning);
        Assert.Null(machine.Pid);
        machine.Console.Prompt = new Regex(Regex.Escape(TestPrerequisites.Prompt), RegexOptions.CultureInvariant); // as the "tiny" profile says
        Assert.Equal("42-Linux", (await machine.Console.RunAsync("echo $((6*7))-$(uname -s)", MachineFactory.BootTimeout, ct)).Trim());
        ConsoleExecResult failed = await machine.Console.ExecAsync("ls /no-such-file", MachineFactory.BootTimeout, ct);
        Assert.NotEqual(0, failed.ExitCode);
        JsonElement status = await machine.Qmp.ExecuteAsync("query-status", cancellationToken: ct);
        Assert.Equal("running", status.GetProperty("status").GetString());
        var error = await Assert.ThrowsAsync<QmpCommandException>(() => machine.CommandAsync("no-such-command", cancellationToken: ct));
        Assert.Equal("CommandNotFound", error.ErrorClass);

        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.Equal(0, machine.ExitCode);
        Assert.NotNull(machine.Log);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 180_000)]
    public async Task The_guest_powering_off_ends_WaitAsync_with_status_0()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new ContainerLeakCheck(Endpoint);
        await using QemuMachine machine = Guest();
        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        await machine.Console.SendLineAsync("poweroff", ct);
        await machine.WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task QEMU_exiting_early_is_a_launch_error_with_the_container_output()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new ContainerLeakCheck(Endpoint);
        await using QemuMachine machine = Bare();
        machine.AddArgs("-no-such-option");
        leaks.Record(machine);

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(ct));

        Assert.Equal(1, ex.ExitCode);
        Assert.Contains("-no-such-option", ex.CommandLine);
        Assert.Contains("invalid option", ex.Output, StringComparison.Ordinal);
        Assert.Contains("invalid option", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_stopped_QEMU_is_killed_within_the_shutdown_timeout()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new ContainerLeakCheck(Endpoint);
        await using QemuMachine machine = await LaunchBareAsync(leaks, null, ct);

        await DockerTestEnvironment.SignalAsync(machine.Name, "STOP", Endpoint); // QMP quit is never answered

        var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(2), cancellationToken: ct));

        Assert.IsType<TimeoutException>(ex.InnerException);
        Assert.Equal(-9, machine.ExitCode);
        Assert.False(machine.IsRunning);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task QEMU_killed_from_outside_is_reported_by_shutdown()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logger = new ListLogger();
        var leaks = new ContainerLeakCheck(Endpoint);
        await using QemuMachine machine = await LaunchBareAsync(leaks, logger, ct);

        await DockerTestEnvironment.SignalAsync(machine.Name, "KILL", Endpoint);
        await machine.Qmp.Completion.ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);

        var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => machine.ShutdownAsync(cancellationToken: ct));

        Assert.IsType<QmpConnectionException>(ex.InnerException);
        Assert.Equal(-9, machine.ExitCode);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("received signal 9", StringComparison.Ordinal));
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task Kill_is_a_hard_shutdown_without_a_warning()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logger = new ListLogger();
        var leaks = new ContainerLeakCheck(Endpoint);
        await using QemuMachine machine = await LaunchBareAsync(leaks, logger, ct);

        await machine.KillAsync(ct);

        Assert.Equal(-9, machine.ExitCode);
        Assert.True(!logger.Entries.Any(e => e.Level >= LogLevel.Warning), string.Join("\n", logger.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message)));
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 400_000)]
    public async Task A_container_profile_with_the_guest_agent_is_ready_runs_a_command_and_copies_a_file_through_the_agent()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = (BuiltInProfiles.TryCreate(BuiltInProfiles.TinyAgentX86_64, AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("tiny-agent-x86_64 is not a built-in profile")) with
        {
            Runner = QemuRunner.Container,
            ContainerImage = DockerTestEnvironment.Image,
            // A container start and a TCG boot on a loaded box: generous.
            BootTimeout = TimeSpan.FromMinutes(5),
        };
        var leaks = new ContainerLeakCheck(Endpoint);
        string scratch = Directory.CreateTempSubdirectory("qtk-agent-relay-").FullName;
        try
        {
            // The boot is ready only once the agent answered through the container's relay.
            QemuBootResult boot = await QemuBoot.StartAsync(profile, new QemuBootOptions { ContainerLauncher = new Factory(ContainerOptions) }, ct);
            await using QemuMachine machine = boot.Machine;
            leaks.Record(machine);
            Assert.Null(machine.Pid);

            QgaExecResult exec = await machine.GuestAgent.ExecAsync("/bin/sh", ["-c", "echo out-$((6*7)); echo err >&2; exit 3"], cancellationToken: ct);
            Assert.Equal(3, exec.ExitCode);
            Assert.Equal("out-42\n", exec.StandardOutputText);
            Assert.Equal("err\n", exec.StandardErrorText);

            byte[] data = new byte[256 * 1024];
            Random.Shared.NextBytes(data);
            string hostIn = Path.Combine(scratch, "in.bin");
            string hostOut = Path.Combine(scratch, "out.bin");
            await File.WriteAllBytesAsync(hostIn, data, ct);
            var guest = new QemuGuest(machine);
            Assert.Equal("agent", guest.FileChannel.Name);
            await guest.CopyToGuestAsync(hostIn, "/tmp/relay-in.bin", ct);
            QgaExecResult sum = await machine.GuestAgent.ExecAsync("/bin/sha256sum", ["/tmp/relay-in.bin"], cancellationToken: ct);
            await guest.CopyFromGuestAsync("/tmp/relay-in.bin", hostOut, ct);

            string expected = Convert.ToHexStringLower(SHA256.HashData(data));
            Assert.Equal(expected, sum.StandardOutputText.Split(' ')[0]);
            Assert.Equal(data, await File.ReadAllBytesAsync(hostOut, ct));

            await machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(60), cancellationToken: ct);
            Assert.Equal(0, machine.ExitCode);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }

        await leaks.AssertNothingLeftAsync();
    }

    private QemuMachine Bare(ILogger? logger = null) => MachineFactory.Bare(Options(logger));

    /// <summary>A bare machine (<c>-machine none</c>), launched and recorded for the leak check.</summary>
    private async Task<QemuMachine> LaunchBareAsync(ContainerLeakCheck leaks, ILogger? logger, CancellationToken cancellationToken)
    {
        QemuMachine machine = Bare(logger);
        try
        {
            await machine.LaunchAsync(cancellationToken);
            leaks.Record(machine);
            return machine;
        }
        catch
        {
            await machine.DisposeAsync();
            throw;
        }
    }

    private QemuMachine Guest() => MachineFactory.Guest(Options(null));

    /// <summary>The container launcher of this transport, for a profile's boot.</summary>
    private sealed class Factory(QemuContainerOptions options) : IQemuLauncherFactory
    {
        public IQemuLauncher Create(QemuLaunchPlan plan, ILogger? logger) =>
            new ContainerQemuLauncher(options with { Image = plan.Profile.ContainerImage ?? DockerTestEnvironment.Image, Logger = logger });
    }

    private QemuMachineOptions Options(ILogger? logger) => new()
    {
        Launcher = new ContainerQemuLauncher(ContainerOptions),
        Logger = logger,
        // A container start adds seconds on a busy machine; the timer bounds waiting for QMP, not the test.
        QmpTimer = TimeSpan.FromSeconds(90),
    };
}
