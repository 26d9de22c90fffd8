using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using QemuTestKit.Containers.Tests.Infrastructure;
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

    private QemuMachineOptions Options(ILogger? logger) => new()
    {
        Launcher = new ContainerQemuLauncher(ContainerOptions),
        Logger = logger,
        // A container start adds seconds on a busy machine; the timer bounds waiting for QMP, not the test.
        QmpTimer = TimeSpan.FromSeconds(90),
    };
}
