using System.Text.Json;
using QemuTestKit.Xunit;

namespace Scenarios;

[QemuMachine("tiny")]
public class Passing(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public async Task Shell_answers()
    {
        // No token passed: the call follows the test's (QemuVm sets the machine's ambient cancellation).
        string uname = await vm.Console.RunAsync("uname -s");

        Assert.Equal("Linux", uname.Trim());
        ScenarioLog.Append($"Passing pid={vm.Machine.Pid} profile={vm.Profile.Name} artifacts={vm.ArtifactsDirectory}");
    }

    [Fact(Timeout = 120_000)]
    public async Task Qmp_answers()
    {
        JsonElement status = await vm.Qmp.ExecuteAsync("query-status");

        Assert.Equal("running", status.GetProperty("status").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Qmp_keys_are_converted_as_the_readme_says()
    {
        // human-monitor-command takes "command-line": an anonymous object's command_line becomes it on vm.Qmp too.
        JsonElement info = await vm.Qmp.ExecuteAsync("human-monitor-command", new { command_line = "info version" });

        Assert.Matches(@"^\d+\.\d+", info.GetString());
    }
}

[QemuMachine("none")]
public class TestTimeoutReachesVmCalls(QemuVm vm)
{
    // Waits far longer than the test may run, with no token: the test's timeout must end them (ambient cancellation).
    [Fact(Timeout = 3_000)]
    public async Task Console_less_qmp_wait() => await Record("qmp", () => vm.Qmp.WaitForEventAsync("NEVER", timeout: TimeSpan.FromSeconds(90)));

    private static async Task Record(string what, Func<Task> wait)
    {
        try
        {
            await wait();
            ScenarioLog.Append($"TestTimeoutReachesVmCalls {what}=returned");
        }
        catch (Exception ex)
        {
            // TaskCanceledException is an OperationCanceledException too: the wait was cancelled, not timed out.
            ScenarioLog.Append($"TestTimeoutReachesVmCalls {what}={(ex is OperationCanceledException ? "cancelled" : ex.GetType().Name)}");
            throw;
        }
    }
}

[QemuMachine("none")]
public class SameProfileFirst(QemuVm vm)
{
    [Fact(Timeout = 60_000)]
    public Task Has_its_own_vm() => SameProfile.ReportAsync(vm, "First", TestContext.Current.CancellationToken);
}

[QemuMachine("none")]
public class SameProfileSecond(QemuVm vm)
{
    [Fact(Timeout = 60_000)]
    public Task Has_its_own_vm() => SameProfile.ReportAsync(vm, "Second", TestContext.Current.CancellationToken);
}

internal static class SameProfile
{
    public static async Task ReportAsync(QemuVm vm, string name, CancellationToken cancellationToken)
    {
        await vm.Qmp.ExecuteAsync("query-status", cancellationToken: cancellationToken);
        ScenarioLog.Append($"SameProfile class={name} pid={vm.Machine.Pid} collection={TestContext.Current.TestCollection?.TestCollectionDisplayName}");
    }
}

[QemuMachine("missing-kernel")]
public class BootFailure(QemuVm vm)
{
    [Fact]
    public void First() => ScenarioLog.Append($"BootFailure ran First with {vm.Machine.Pid}");

    [Fact]
    public void Second() => ScenarioLog.Append($"BootFailure ran Second with {vm.Machine.Pid}");
}

[QemuMachine("panic")]
public class GuestPanic(QemuVm vm)
{
    [Fact]
    public void Never_runs() => ScenarioLog.Append($"GuestPanic ran with {vm.Machine.Pid}");
}

[QemuMachine("tiny")]
public class KilledDuringTest(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task First() => KillAsync(nameof(First), TestContext.Current.CancellationToken);

    [Fact(Timeout = 120_000)]
    public Task Second() => KillAsync(nameof(Second), TestContext.Current.CancellationToken);

    // Whichever test runs first kills QEMU; the other must fail at once without running.
    private async Task KillAsync(string test, CancellationToken cancellationToken)
    {
        int pid = vm.Machine.Pid ?? throw new InvalidOperationException("no pid");
        ScenarioLog.Append($"KilledDuringTest {test} kills {pid}");
        ScenarioLog.Signal(pid, ScenarioLog.SigKill);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (vm.Machine.IsRunning)
        {
            await Task.Delay(50, deadline.Token);
        }
    }
}

[QemuMachine("tiny-quick-shutdown")]
public class StoppedAtShutdown(QemuVm vm)
{
    [Fact]
    public void Stops_qemu()
    {
        int pid = vm.Machine.Pid ?? throw new InvalidOperationException("no pid");
        ScenarioLog.Append($"StoppedAtShutdown stops {pid}");
        ScenarioLog.Signal(pid, ScenarioLog.SigStop);
    }
}

[QemuMachine("tiny")]
public class FailingTest(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public async Task Fails_after_using_the_vm()
    {
        await vm.Console.RunAsync("echo artifact-marker-$((40+2))", cancellationToken: TestContext.Current.CancellationToken);
        await vm.Qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        ScenarioLog.Append($"FailingTest artifacts={vm.ArtifactsDirectory}");
        Assert.Fail("deliberate failure");
    }
}

[QemuMachine("none", Parallel = true)]
public class ParallelA(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Stays_within_the_limit() => ParallelProbe.RunAsync(vm, "A", TestContext.Current.CancellationToken);
}

[QemuMachine("none", Parallel = true)]
public class ParallelB(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Stays_within_the_limit() => ParallelProbe.RunAsync(vm, "B", TestContext.Current.CancellationToken);
}

[QemuMachine("none", Parallel = true)]
public class ParallelC(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Stays_within_the_limit() => ParallelProbe.RunAsync(vm, "C", TestContext.Current.CancellationToken);
}

internal static class ParallelProbe
{
    public static async Task RunAsync(QemuVm vm, string name, CancellationToken cancellationToken)
    {
        int limit = int.Parse(Environment.GetEnvironmentVariable("QEMUTESTKIT_MAX_VMS") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        int most = 0;
        for (int i = 0; i < 15; i++)
        {
            await vm.Qmp.ExecuteAsync("query-status", cancellationToken: cancellationToken);
            most = Math.Max(most, ScenarioLog.RunningQemuChildren());
            await Task.Delay(100, cancellationToken);
        }

        ScenarioLog.Append($"Parallel class={name} pid={vm.Machine.Pid} most={most} collection={TestContext.Current.TestCollection?.TestCollectionDisplayName}");
        Assert.InRange(most, 1, limit);
    }
}
