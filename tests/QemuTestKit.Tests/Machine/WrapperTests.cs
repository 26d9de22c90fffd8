namespace QemuTestKit.Tests.Machine;

/// <summary>A wrapper that forks QEMU instead of exec'ing it: kill and cleanup reach QEMU, not only the wrapper.</summary>
public sealed class WrapperTests
{
    [Fact(Timeout = 120_000)]
    public async Task Kill_reaches_QEMU_forked_by_a_wrapper()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var wrapper = new ForkingWrapper();
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Wrapper = [wrapper.Path] });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        int qemuPid = await ForkingWrapper.QemuChildAsync(machine.Pid!.Value, ct);
        try
        {
            Assert.Equal("running", (await machine.CommandAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());

            await machine.KillAsync(ct);

            await WaitUntilGoneAsync(qemuPid, ct);
            Assert.False(LeakCheck.ProcessExists(qemuPid), $"QEMU {qemuPid}, forked by the wrapper, outlived the kill");
            await leaks.AssertNothingLeftAsync();
        }
        finally
        {
            Signals.ResumeAndKill(qemuPid);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Shutdown_through_a_forking_wrapper_is_graceful()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var wrapper = new ForkingWrapper();
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Wrapper = [wrapper.Path] });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        int qemuPid = await ForkingWrapper.QemuChildAsync(machine.Pid!.Value, ct);
        try
        {
            await machine.ShutdownAsync(cancellationToken: ct);

            Assert.Equal(0, machine.ExitCode);
            Assert.Null(machine.AbnormalShutdown);
            await WaitUntilGoneAsync(qemuPid, ct);
            Assert.False(LeakCheck.ProcessExists(qemuPid));
            await leaks.AssertNothingLeftAsync();
        }
        finally
        {
            Signals.ResumeAndKill(qemuPid);
        }
    }

    /// <summary>Waits (bounded) for the kernel to remove <paramref name="pid"/>; its parent, init, reaps it asynchronously.</summary>
    internal static async Task WaitUntilGoneAsync(int pid, CancellationToken cancellationToken)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(20);
        while (LeakCheck.ProcessExists(pid) && DateTime.UtcNow < until)
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
