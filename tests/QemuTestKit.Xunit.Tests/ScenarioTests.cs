using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>
/// The product as a user meets it: small test classes (Assets/Scenarios) run by `dotnet test` in a subprocess, and
/// what the run reports — outcomes, messages, exit code, artifacts — checked from the outside.
/// </summary>
public sealed class ScenarioTests(ScenarioProject scenarios)
{
    private const int Passed = 0;
    private const int TestsFailed = 2;

    [Fact(Timeout = 600_000)]
    public async Task A_passing_class_boots_tiny_and_passes()
    {
        ScenarioResult result = await RunAsync(["Passing"], Passed, TestContext.Current.CancellationToken);

        Says(
            result,
            "total: 3",
            "succeeded: 3");
        string line = Assert.Single(result.Log, l => l.StartsWith("Passing ", StringComparison.Ordinal));
        Assert.Contains("profile=tiny", line, StringComparison.Ordinal);
        // One folder per run (start time and PID), then one per class.
        string run = Assert.Single(Directory.GetDirectories(Path.Combine(result.ResultsDirectory, "qemutestkit")));
        Assert.Matches(@"^\d{8}T\d{6}\.\d{3}Z-\d+$", Path.GetFileName(run));
        string artifacts = Path.Combine(run, "Scenarios.Passing");
        Assert.Contains($"artifacts={artifacts}", line, StringComparison.Ordinal);
        Assert.Contains("QEMUTESTKIT-READY", File.ReadAllText(Path.Combine(artifacts, "console.log")), StringComparison.Ordinal);
        Assert.Contains("query-status", File.ReadAllText(Path.Combine(artifacts, "qmp-transcript.txt")), StringComparison.Ordinal);
    }

    [Fact(Timeout = 600_000)]
    public async Task A_boot_failure_fails_every_test_of_the_class_with_qemus_output()
    {
        ScenarioResult result = await RunAsync(["BootFailure"], TestsFailed, TestContext.Current.CancellationToken);

        Says(result, "failed: 2");
        Assert.DoesNotContain(result.Log, l => l.StartsWith("BootFailure ran", StringComparison.Ordinal));
        Assert.Equal(2, Count(result.Output, "The VM for Scenarios.BootFailure did not boot (profile 'missing-kernel'"));
        Says(
            result,
            "/nonexistent/qemutestkit/vmlinuz",
            "could not open kernel file");
        Assert.True(Count(result.Output, "ommand: /") >= 2, $"each failure carries the command line\n{result}");
    }

    [Fact(Timeout = 600_000)]
    public async Task A_guest_panic_fails_fast_with_the_console_tail()
    {
        ScenarioResult result = await RunAsync(["GuestPanic"], TestsFailed, TestContext.Current.CancellationToken);

        Assert.DoesNotContain(result.Log, l => l.StartsWith("GuestPanic ran", StringComparison.Ordinal));
        Says(
            result,
            "The VM for Scenarios.GuestPanic did not boot (profile 'panic'",
            "Kernel panic",
            "Console (last",
            "Command: /");
        Assert.DoesNotContain("boot timeout", result.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 600_000)]
    public async Task A_test_timeout_cancels_vm_calls_made_without_a_token()
    {
        ScenarioResult result = await RunAsync(["TestTimeoutReachesVmCalls"], TestsFailed, TestContext.Current.CancellationToken);

        // The 90 s QMP wait was given no token; the test's 3 s timeout cancelled it (not its own timeout, not never).
        Says(result, "failed: 1");
        Assert.Contains("TestTimeoutReachesVmCalls qmp=cancelled", result.Log);
    }

    [Fact(Timeout = 600_000)]
    public async Task Qemu_killed_during_a_test_fails_that_test_and_the_next_at_once()
    {
        ScenarioResult result = await RunAsync(["KilledDuringTest"], TestsFailed, TestContext.Current.CancellationToken);

        Says(result, "failed: 2");
        Assert.Single(result.Log, l => l.StartsWith("KilledDuringTest", StringComparison.Ordinal));
        Says(
            result,
            "was killed by signal 9 (SIGKILL) during test 'Scenarios.KilledDuringTest.",
            "This class's VM is gone: QEMU was killed by signal 9 (SIGKILL)");
        Assert.True(Count(result.Output, "Command: /") >= 2, $"both failures carry the command line\n{result}");
    }

    [Fact(Timeout = 600_000)]
    public async Task Qemu_that_cannot_shut_down_gracefully_fails_the_run()
    {
        ScenarioResult result = await RunAsync(["StoppedAtShutdown"], TestsFailed, TestContext.Current.CancellationToken);

        Assert.Single(result.Log, l => l.StartsWith("StoppedAtShutdown stops", StringComparison.Ordinal));
        Says(
            result,
            "Test Class Cleanup Failure",
            "could not be shut down gracefully within 3.00 s",
            "Command: /");
    }

    [Fact(Timeout = 600_000)]
    public async Task A_failed_test_gets_the_console_log_qemu_log_and_qmp_transcript_attached()
    {
        ScenarioResult result = await RunAsync(["FailingTest"], TestsFailed, TestContext.Current.CancellationToken);

        Says(result, "deliberate failure");
        string[] attached = Directory.GetFiles(result.ResultsDirectory, "*.txt", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}qemutestkit{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToArray();
        // Attachments are named after the class and the test: a results folder says whose they are.
        const string Prefix = "Scenarios.FailingTest.Fails_after_using_the_vm.";
        string console = Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "console-log.txt");
        Assert.Contains("artifact-marker-42", File.ReadAllText(console), StringComparison.Ordinal);
        string qmp = Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "qmp-transcript.txt");
        Assert.Contains("query-status", File.ReadAllText(qmp), StringComparison.Ordinal);
        Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "qemu-log.txt");
        Says(result, "For test 'Scenarios.FailingTest.Fails_after_using_the_vm'");
        string run = Assert.Single(Directory.GetDirectories(Path.Combine(result.ResultsDirectory, "qemutestkit")));
        Assert.True(File.Exists(Path.Combine(run, "Scenarios.FailingTest", "console.log")));
    }

    [Fact(Timeout = 600_000)]
    public async Task Two_classes_of_one_profile_get_two_vms_one_after_another()
    {
        ScenarioResult result = await RunAsync(["SameProfileFirst", "SameProfileSecond"], Passed, TestContext.Current.CancellationToken);

        string[] lines = result.Log.Where(l => l.StartsWith("SameProfile ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.NotEqual(Field(lines[0], "pid"), Field(lines[1], "pid"));
        Assert.Equal("QemuTestKit: none", Field(lines[0], "collection"));
        Assert.Equal("QemuTestKit: none", Field(lines[1], "collection"));
    }

    [Fact(Timeout = 600_000)]
    public async Task Parallel_classes_get_their_own_collections_and_respect_the_limit()
    {
        ScenarioResult result = await RunAsync(
            ["ParallelA", "ParallelB", "ParallelC"],
            Passed,
            TestContext.Current.CancellationToken,
            new Dictionary<string, string?> { ["QEMUTESTKIT_MAX_VMS"] = "1" });

        string[] lines = result.Log.Where(l => l.StartsWith("Parallel ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal(3, lines.Select(l => Field(l, "collection")).Distinct().Count());
        Assert.All(lines, l => Assert.Equal("1", Field(l, "most")));
    }

    private async Task<ScenarioResult> RunAsync(
        string[] classes,
        int expectedExitCode,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        ScenarioResult result = await scenarios.RunAsync(classes, environment, cancellationToken);
        Assert.True(result.ExitCode == expectedExitCode, $"expected exit code {expectedExitCode}, got {result}");
        return result;
    }

    /// <summary>The run's output contains every one of <paramref name="parts"/>.</summary>
    private static void Says(ScenarioResult result, params string[] parts)
    {
        foreach (string part in parts)
        {
            Assert.True(result.Output.Contains(part, StringComparison.Ordinal), $"The output lacks \"{part}\".\n{result}");
        }
    }

    private static int Count(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string Field(string line, string name)
    {
        int start = line.IndexOf(name + "=", StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{name}=' in '{line}'");
        start += name.Length + 1;
        // The collection name contains spaces and is always last.
        if (name == "collection")
        {
            return line[start..];
        }

        int end = line.IndexOf(' ', start);
        return end < 0 ? line[start..] : line[start..end];
    }
}
