using System.Diagnostics;
using System.Text.Json;
using QemuTestKit.Qmp;
using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>
/// When a VM test fails, through <c>dotnet test</c>: a crashed VM is replaced before the class's next test
/// (<see cref="VmRestart"/>), and a failed class's VM is kept running after the test process (<c>QEMUTESTKIT_KEEP</c>).
/// </summary>
public sealed class KeepScenarioTests(ScenarioProject scenarios) : IDisposable
{
    // Short (socket paths are limited to 107 bytes) and private to this test class.
    private readonly string _keptRoot = Directory.CreateTempSubdirectory("qtkkept-").FullName;

    [Fact(Timeout = 600_000)]
    public async Task A_vm_killed_in_the_first_test_is_replaced_and_the_second_test_passes_on_the_new_one()
    {
        (ScenarioResult result, string runs) = await RunOneBrokenOnePassedAsync("RestartAfterCrash", TestContext.Current.CancellationToken);

        Assert.Equal("Linux", Field(runs, "uname"));
        Assert.Equal("True", Field(runs, "noted"));

        // The first test's failure says what happened to its VM, and that the class goes on.
        Assert.Contains("was killed by signal 9 (SIGKILL) during test 'Scenarios.RestartAfterCrash.", result.Output, StringComparison.Ordinal);
        Assert.Contains("The class's next test runs on a new VM (Restart = AfterCrash).", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("This class's VM is gone", result.Output, StringComparison.Ordinal);

        // Both VMs' artifacts are kept, each in a folder of its own.
        string run = Assert.Single(Directory.GetDirectories(Path.Combine(result.ResultsDirectory, "qemutestkit")));
        string first = Path.Combine(run, "Scenarios.RestartAfterCrash");
        string second = first + "-vm2";
        Assert.Equal(second, Field(runs, "artifacts"));
        Assert.Contains("QEMUTESTKIT-READY", File.ReadAllText(Path.Combine(first, "console.log")), StringComparison.Ordinal);
        Assert.Contains("SIGKILL", File.ReadAllText(Path.Combine(first, "summary.txt")), StringComparison.Ordinal);
        Assert.Contains("QEMUTESTKIT-READY", File.ReadAllText(Path.Combine(second, "console.log")), StringComparison.Ordinal);
    }

    [Fact(Timeout = 600_000)]
    public Task After_failure_a_failed_test_with_a_running_vm_hands_the_next_test_a_new_vm() =>
        RunOneBrokenOnePassedAsync("RestartAfterFailure", TestContext.Current.CancellationToken);

    [Fact(Timeout = 600_000)]
    public Task After_crash_a_vm_that_stopped_answering_is_killed_and_replaced() =>
        RunOneBrokenOnePassedAsync("RestartAfterHang", TestContext.Current.CancellationToken);

    [Fact(Timeout = 600_000)]
    public async Task A_failed_class_keeps_its_vm_running_after_dotnet_test_until_the_printed_stop_command()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var env = new Dictionary<string, string?> { ["QEMUTESTKIT_KEEP"] = "failed", ["QEMUTESTKIT_KEPT_DIR"] = _keptRoot };

        (ScenarioResult result, List<int> leftovers) = await scenarios.RunLeavingAsync(["KeptOnFailure"], env, [], ct);
        try
        {
            Assert.True(result.ExitCode == 2, result.ToString());
            int pid = Assert.Single(leftovers);
            Assert.Contains($"KeptOnFailure pid={pid}", result.Log);
            KeptVm kept = Assert.Single(KeptVms.List(_keptRoot));
            Assert.Equal(pid, kept.Pid);
            Assert.True(kept.IsRunning);
            Assert.Equal("Scenarios.KeptOnFailure", kept.Description);

            // The failed test's output says how to reach and stop it, ready to copy.
            Assert.Contains(kept.ConsoleCommand!, result.Output, StringComparison.Ordinal);
            Assert.Contains(kept.QmpCommand, result.Output, StringComparison.Ordinal);
            Assert.Contains(kept.StopCommand, result.Output, StringComparison.Ordinal);
            Assert.Contains("QEMU pid " + pid, result.Output, StringComparison.Ordinal);

            // It answers on its console and on QMP, to new connections from this process.
            await using (QemuConsole console = await QemuConsole.ConnectAsync(kept.ConsoleSocket!, cancellationToken: ct))
            {
                await console.SendLineAsync("cat /tmp/marker", ct);
                await console.WaitForAsync("kept-marker", timeout: TimeSpan.FromSeconds(120), cancellationToken: ct);
            }

            await using (QmpClient qmp = await QmpClient.ConnectAsync(kept.QmpSocket, cancellationToken: ct))
            {
                JsonElement status = await qmp.ExecuteAsync("query-status", cancellationToken: ct);
                Assert.Equal("running", status.GetProperty("status").GetString());
            }

            // The printed stop command ends it and removes its folder.
            using Process stop = Process.Start("sh", ["-c", kept.StopCommand]);
            await stop.WaitForExitAsync(ct);
            Assert.Equal(0, stop.ExitCode);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(120));
            while (kept.IsRunning)
            {
                await Task.Delay(100, deadline.Token);
            }

            Assert.False(Directory.Exists(kept.Directory));
            Assert.Empty(KeptVms.List(_keptRoot));
        }
        finally
        {
            foreach (KeptVm vm in KeptVms.List(_keptRoot))
            {
                await KeptVms.RemoveAsync(vm, CancellationToken.None);
            }
        }
    }

    [Fact(Timeout = 600_000)]
    public async Task In_keep_mode_a_vm_not_yet_kept_still_dies_with_a_killed_test_host()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var env = new Dictionary<string, string?> { ["QEMUTESTKIT_KEEP"] = "always", ["QEMUTESTKIT_KEPT_DIR"] = _keptRoot };

        (ScenarioResult result, List<int> leftovers) = await scenarios.RunLeavingAsync(["HostKilledInKeepMode"], env, [], ct);

        // Started without the parent-death signal (so that it could be kept), QEMU is still guarded by the watchdog.
        string line = Assert.Single(result.Log, l => l.StartsWith("HostKilledInKeepMode pid=", StringComparison.Ordinal));
        int pid = int.Parse(line["HostKilledInKeepMode pid=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(leftovers, p => Assert.Equal(pid, p));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (IsAlive(pid))
        {
            await Task.Delay(100, deadline.Token);
        }

        Assert.Empty(KeptVms.List(_keptRoot));
    }

    [Fact(Timeout = 600_000)]
    public async Task Without_the_setting_a_failed_class_keeps_nothing()
    {
        var env = new Dictionary<string, string?> { ["QEMUTESTKIT_KEPT_DIR"] = _keptRoot };

        // RunAsync itself checks that no QEMU of the run is left.
        ScenarioResult result = await scenarios.RunAsync(["KeptOnFailure"], env, TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Empty(Directory.GetFileSystemEntries(_keptRoot));
        Assert.DoesNotContain("kept running", result.Output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_keptRoot, recursive: true);

    /// <summary>
    /// Runs a restart scenario: whichever test runs first breaks its VM and fails, the other passes on a new VM (#2);
    /// returns the run and the passing test's line.
    /// </summary>
    private async Task<(ScenarioResult Result, string Runs)> RunOneBrokenOnePassedAsync(string scenario, CancellationToken cancellationToken)
    {
        ScenarioResult result = await scenarios.RunAsync([scenario], null, cancellationToken);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("failed: 1", result.Output, StringComparison.Ordinal);
        Assert.Contains("succeeded: 1", result.Output, StringComparison.Ordinal);
        string broke = Assert.Single(result.Log, l => l.Contains(" breaks pid=", StringComparison.Ordinal));
        string runs = Assert.Single(result.Log, l => l.Contains(" runs pid=", StringComparison.Ordinal));
        Assert.NotEqual(Field(broke, "pid"), Field(runs, "pid"));
        Assert.Equal("2", Field(runs, "vm"));
        return (result, runs);
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Field(string line, string name)
    {
        int from = line.IndexOf(" " + name + "=", StringComparison.Ordinal) + name.Length + 2;
        int to = line.IndexOf(' ', from);
        return to < 0 ? line[from..] : line[from..to];
    }
}
