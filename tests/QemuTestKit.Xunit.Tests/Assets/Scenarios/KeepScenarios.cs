using QemuTestKit.Xunit;

namespace Scenarios;

// Scenarios of "when a test fails": restart after a crash, keeping a failed VM.

[QemuMachine("tiny", Restart = VmRestart.AfterCrash)]
public class RestartAfterCrash(QemuVm vm)
{
    private static int s_killed;

    [Fact(Timeout = 180_000)]
    public Task First() => KillOnceOrReportAsync(nameof(First), TestContext.Current.CancellationToken);

    [Fact(Timeout = 180_000)]
    public Task Second() => KillOnceOrReportAsync(nameof(Second), TestContext.Current.CancellationToken);

    // Whichever test runs first kills QEMU (and fails for it); the other must run on a new VM and pass.
    private async Task KillOnceOrReportAsync(string test, CancellationToken cancellationToken)
    {
        int pid = vm.Machine.Pid ?? throw new InvalidOperationException("no pid");
        if (Interlocked.Exchange(ref s_killed, 1) == 0)
        {
            ScenarioLog.Append($"RestartAfterCrash {test} breaks pid={pid} (SIGKILL)");
            ScenarioLog.Signal(pid, ScenarioLog.SigKill);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(60));
            while (vm.Machine.IsRunning)
            {
                await Task.Delay(50, deadline.Token);
            }

            return;
        }

        string uname = await vm.Console.RunAsync("uname -s", cancellationToken: cancellationToken);
        bool noted = TestContext.Current.TestOutputHelper?.Output.Contains("this test runs on a new VM (#2", StringComparison.Ordinal) == true;
        ScenarioLog.Append($"RestartAfterCrash {test} runs pid={pid} vm={vm.VmNumber} uname={uname.Trim()} noted={noted} artifacts={vm.ArtifactsDirectory}");
    }
}

[QemuMachine("tiny")]
public class KeptOnFailure(QemuVm vm)
{
    [Fact(Timeout = 180_000)]
    public async Task Fails_after_leaving_a_marker()
    {
        await vm.Console.RunAsync("echo kept-marker > /tmp/marker", cancellationToken: TestContext.Current.CancellationToken);
        ScenarioLog.Append($"KeptOnFailure pid={vm.Machine.Pid}");
        Assert.Fail("deliberate failure: the VM should be kept");
    }
}

[QemuMachine("tiny-evidence")]
public class EvidenceOnFailure(QemuVm vm)
{
    [Fact(Timeout = 300_000)]
    public async Task Fails_with_evidence()
    {
        await vm.Console.RunAsync("echo evidence-run", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Fail("deliberate failure: the profile's onFailure evidence should be attached");
    }
}

[QemuMachine("tiny", Restart = VmRestart.AfterFailure)]
public class RestartAfterFailure(QemuVm vm)
{
    private static int s_failed;

    [Fact(Timeout = 180_000)]
    public Task First() => FailOnceOrReportAsync(nameof(First), TestContext.Current.CancellationToken);

    [Fact(Timeout = 180_000)]
    public Task Second() => FailOnceOrReportAsync(nameof(Second), TestContext.Current.CancellationToken);

    // Whichever test runs first fails with its VM still running; the other must get a new VM anyway.
    private async Task FailOnceOrReportAsync(string test, CancellationToken cancellationToken)
    {
        int pid = vm.Machine.Pid ?? throw new InvalidOperationException("no pid");
        await vm.Console.RunAsync("true", cancellationToken: cancellationToken);
        if (Interlocked.Exchange(ref s_failed, 1) == 0)
        {
            ScenarioLog.Append($"RestartAfterFailure {test} breaks pid={pid} (fails)");
            Assert.Fail("deliberate failure with the VM running");
        }

        ScenarioLog.Append($"RestartAfterFailure {test} runs pid={pid} vm={vm.VmNumber}");
    }
}

[QemuMachine("tiny", Restart = VmRestart.AfterCrash)]
public class RestartAfterHang(QemuVm vm)
{
    private static int s_stopped;

    [Fact(Timeout = 180_000)]
    public Task First() => StopOnceOrReportAsync(nameof(First), TestContext.Current.CancellationToken);

    [Fact(Timeout = 180_000)]
    public Task Second() => StopOnceOrReportAsync(nameof(Second), TestContext.Current.CancellationToken);

    // Whichever test runs first freezes QEMU (SIGSTOP) and fails: QEMU no longer answers, which counts as a crash.
    private async Task StopOnceOrReportAsync(string test, CancellationToken cancellationToken)
    {
        int pid = vm.Machine.Pid ?? throw new InvalidOperationException("no pid");
        if (Interlocked.Exchange(ref s_stopped, 1) == 0)
        {
            ScenarioLog.Append($"RestartAfterHang {test} breaks pid={pid} (SIGSTOP)");
            ScenarioLog.Signal(pid, ScenarioLog.SigStop);
            Assert.Fail("deliberate failure with QEMU stopped");
        }

        await vm.Console.RunAsync("true", cancellationToken: cancellationToken);
        ScenarioLog.Append($"RestartAfterHang {test} runs pid={pid} vm={vm.VmNumber}");
    }
}

[QemuMachine("tiny")]
public class HostKilledInKeepMode(QemuVm vm)
{
    // The test host dies by SIGKILL before the class ends: nothing was detached, so the orphan guard must take QEMU down.
    [Fact(Timeout = 180_000)]
    public async Task Kills_its_own_test_host()
    {
        await vm.Console.RunAsync("true", cancellationToken: TestContext.Current.CancellationToken);
        ScenarioLog.Append($"HostKilledInKeepMode pid={vm.Machine.Pid}");
        ScenarioLog.Signal(Environment.ProcessId, ScenarioLog.SigKill);
    }
}
