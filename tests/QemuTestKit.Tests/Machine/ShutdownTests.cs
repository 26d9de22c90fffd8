using Microsoft.Extensions.Logging;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Machine;

public sealed class ShutdownTests
{
    [Fact(Timeout = 60_000)]
    public async Task Shutdown_is_idempotent_and_a_noop_before_launch()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.ShutdownAsync(cancellationToken: ct);
        await machine.KillAsync(ct);
        await machine.WaitAsync(cancellationToken: ct);
        Assert.Null(machine.ExitCode);

        await machine.LaunchAsync(ct);
        await machine.ShutdownAsync(cancellationToken: ct);
        await machine.ShutdownAsync(cancellationToken: ct);
        await machine.KillAsync(ct);

        Assert.Equal(0, machine.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task WhenExited_completes_at_once_without_QEMU_waits_while_it_runs_and_completes_when_it_exits()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();
        Assert.True(machine.WhenExitedAsync(ct).IsCompleted);

        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        Task exited = machine.WhenExitedAsync(ct);

        // Still running: a QMP round trip proves QEMU is alive after the task was taken, and the task has not completed.
        await machine.CommandAsync("query-status", cancellationToken: ct);
        Assert.False(exited.IsCompleted);

        Assert.Equal(0, Kill(machine.Pid!.Value, 9));
        await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await machine.KillAsync(ct);
        Assert.Equal(-9, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Quit_already_issued_is_not_sent_again()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logger = new ListLogger();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Logger = logger });
        await machine.LaunchAsync(ct);
        QmpClient qmp = machine.Qmp;

        await machine.CommandAsync("quit", cancellationToken: ct);
        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.Equal(0, machine.ExitCode);
        Assert.Single(qmp.Transcript.ToString().Split('\n'), line => line.Contains("\"quit\"", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_is_a_hard_shutdown_without_a_warning()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logger = new ListLogger();
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Logger = logger });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        await machine.KillAsync(ct);

        Assert.Equal(-9, machine.ExitCode);
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task QEMU_killed_from_outside_is_reported_by_shutdown()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logger = new ListLogger();
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Logger = logger });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.Equal(0, Kill(machine.Pid!.Value, 9));
        await machine.Qmp.Completion.ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);

        var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => machine.ShutdownAsync(cancellationToken: ct));

        Assert.IsType<QmpConnectionException>(ex.InnerException);
        Assert.Equal(-9, machine.ExitCode);
        (LogLevel level, string message) = Assert.Single(logger.Entries, e => e.Message.Contains("received signal 9", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains(machine.CommandLine[0], message, StringComparison.Ordinal);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_stopped_QEMU_is_killed_within_the_shutdown_timeout()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.Equal(0, Kill(machine.Pid!.Value, 19)); // SIGSTOP: QMP quit is never answered

        var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(2), cancellationToken: ct));

        Assert.IsType<TimeoutException>(ex.InnerException);
        Assert.Equal(-9, machine.ExitCode);
        Assert.False(machine.IsRunning);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task WaitAsync_returns_when_the_guest_powers_off()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Guest();
        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        await machine.Console.SendLineAsync("poweroff", ct);
        await machine.WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(0, machine.ExitCode);
        Assert.False(machine.IsRunning);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_kills_a_machine_that_does_not_power_off()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        QmpClient qmp = machine.Qmp;

        var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => machine.WaitAsync(TimeSpan.FromSeconds(1), ct));

        Assert.IsType<TimeoutException>(ex.InnerException);
        Assert.Equal(-9, machine.ExitCode);
        Assert.DoesNotContain("\"quit\"", qmp.Transcript.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Cleanup_closes_QMP_and_loads_the_log()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        machine.AddArgs("-device", "no-such-device-but-only-a-warning,help");

        // QEMU prints the help text and exits; the launch fails, but the log holds the output.
        var ex = await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(ct));

        Assert.NotNull(machine.Log);
        Assert.Equal(ex.Output, machine.Log);
        Assert.Throws<QemuMachineException>(() => machine.Qmp);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static int Kill(int pid, int signal) => kill(pid, signal);
}
