using System.Text.Json;

namespace QemuTestKit.Tests.Machine;

/// <summary>A QEMU that stops answering (SIGSTOP) never hangs a test: QMP times out by default and says why; shutdown kills it at once.</summary>
public sealed class StallTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_QMP_command_to_a_stopped_QEMU_times_out_by_default_and_says_it_is_stopped()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { CommandTimeout = TimeSpan.FromSeconds(2) });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        int pid = machine.Pid!.Value;
        Assert.Null(machine.DescribeProcessState());

        Signals.Send(pid, Signals.SIGSTOP);
        try
        {
            // No token, as a user writes it: only the machine's default command timeout can end these.
#pragma warning disable xUnit1051 // The missing token is the point of this test.
            var viaClient = await Assert.ThrowsAsync<TimeoutException>(() => machine.Qmp.ExecuteAsync("query-status"));
            var viaMachine = await Assert.ThrowsAsync<TimeoutException>(() => machine.CommandAsync("query-name"));
#pragma warning restore xUnit1051

            Assert.Contains("'query-status'", viaClient.Message, StringComparison.Ordinal);
            Assert.Contains($"QEMU (pid {pid}) is stopped (T)", viaClient.Message, StringComparison.Ordinal);
            Assert.Contains("'query-name'", viaMachine.Message, StringComparison.Ordinal);
            Assert.Contains("stopped (T)", viaMachine.Message, StringComparison.Ordinal);
            Assert.Contains("stopped (T)", machine.DescribeProcessState(), StringComparison.Ordinal);
        }
        finally
        {
            Signals.Send(pid, Signals.SIGCONT);
        }

        // Resumed, QEMU answers again (the late replies are consumed in order, not handed to later commands).
        JsonElement status = await machine.CommandAsync("query-status", cancellationToken: ct);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.Null(machine.DescribeProcessState());
        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_QMP_timeout_carries_the_console_tail()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Guest(new QemuMachineOptions { CommandTimeout = TimeSpan.FromSeconds(2) });
        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);
        int pid = machine.Pid!.Value;
        await machine.Console.SendLineAsync("echo stall-marker-$((6*7))", ct);
        await machine.Console.WaitForAsync("stall-marker-42", timeout: MachineFactory.BootTimeout, cancellationToken: ct);

        Signals.Send(pid, Signals.SIGSTOP);
        TimeoutException ex;
        try
        {
#pragma warning disable xUnit1051 // No token: the machine's default command timeout must end it.
            ex = await Assert.ThrowsAsync<TimeoutException>(() => machine.Qmp.ExecuteAsync("query-status"));
#pragma warning restore xUnit1051
        }
        finally
        {
            Signals.Send(pid, Signals.SIGCONT);
        }

        Assert.Contains("stopped (T)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Last console lines:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("stall-marker-42", ex.Message, StringComparison.Ordinal);
        await machine.KillAsync(ct);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task Shutdown_of_a_stopped_QEMU_kills_it_without_waiting_out_the_timeout_and_says_it_was_stopped()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        int pid = machine.Pid!.Value;
        TimeSpan graceful = TimeSpan.FromMinutes(30);

        Signals.Send(pid, Signals.SIGSTOP);
        try
        {
            Task shutdown = machine.ShutdownAsync(timeout: graceful, cancellationToken: ct);

            // Ordering, not a stopwatch: the shutdown must end long before even a fraction of its graceful timeout.
            Task first = await Task.WhenAny(shutdown, Task.Delay(graceful / 4, ct));
            Assert.Same(shutdown, first);
            var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => shutdown);

            Assert.Contains($"QEMU (pid {pid}) is stopped (T)", ex.Message, StringComparison.Ordinal);
            Assert.Same(ex, machine.AbnormalShutdown);
            Assert.Equal(-9, machine.ExitCode);
            Assert.False(machine.IsRunning);
        }
        finally
        {
            Signals.ResumeAndKill(pid);
        }

        await leaks.AssertNothingLeftAsync();
    }
}
