namespace QemuTestKit.Tests.Machine;

/// <summary>A wrapper that forks QEMU instead of exec'ing it: kill and cleanup reach QEMU, not only the wrapper.</summary>
public sealed class WrapperTests
{
    [Fact(Timeout = 120_000)]
    public async Task Kill_reaches_QEMU_forked_by_a_wrapper()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await ThroughForkingWrapperAsync(
            async machine =>
            {
                Assert.Equal("running", (await machine.CommandAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
                await machine.KillAsync(ct);
                Assert.Equal(-9, machine.ExitCode);
            },
            ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Shutdown_through_a_forking_wrapper_is_graceful()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await ThroughForkingWrapperAsync(
            async machine =>
            {
                await machine.ShutdownAsync(cancellationToken: ct);
                Assert.Equal(0, machine.ExitCode);
                Assert.Null(machine.AbnormalShutdown);
            },
            ct);
    }

    /// <summary>Launches QEMU through a forking wrapper, runs <paramref name="stop"/>, and asserts that QEMU is gone too.</summary>
    private static async Task ThroughForkingWrapperAsync(Func<QemuMachine, Task> stop, CancellationToken ct)
    {
        using var wrapper = new ForkingWrapper();
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Wrapper = [wrapper.Path] });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        int qemuPid = await ForkingWrapper.QemuChildAsync(machine.Pid!.Value, ct);
        try
        {
            await stop(machine);

            // QEMU's parent (the wrapper) is gone, so init reaps it, asynchronously.
            DateTime until = DateTime.UtcNow.AddSeconds(20);
            while (LeakCheck.ProcessExists(qemuPid) && DateTime.UtcNow < until)
            {
                await Task.Delay(50, ct);
            }

            Assert.False(LeakCheck.ProcessExists(qemuPid), $"QEMU {qemuPid}, forked by the wrapper, outlived the machine's end");
            await leaks.AssertNothingLeftAsync();
        }
        finally
        {
            Signals.ResumeAndKill(qemuPid);
        }
    }
}
