using QemuTestKit.Internal;

namespace QemuTestKit.Tests.HostTools;

/// <summary>The one runner for host tools: output captured, bounded, killed with its children, reaped.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostToolRunnerTests : IDisposable
{
    private static readonly TimeSpan TestBound = TimeSpan.FromSeconds(120);
    private readonly FakeTools _tools = new();

    public void Dispose() => _tools.Dispose();

    [Fact]
    public async Task Captures_standard_output_standard_error_and_the_exit_code_apart()
    {
        string tool = _tools.Script("tool", "read line; echo \"out $1 $line\"; echo err >&2; exit 3");

        HostToolResult result = await HostToolRunner.RunAsync(tool, ["a b"], TimeSpan.FromSeconds(60), standardInput: "typed\n", cancellationToken: TestContext.Current.CancellationToken)
            .WaitAsync(TestBound, TestContext.Current.CancellationToken);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("out a b typed\n", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
        Assert.Equal($"{tool} 'a b'", result.CommandText);
    }

    [Fact]
    public async Task A_tool_that_exits_without_reading_its_input_still_gives_its_result()
    {
        // Larger than a pipe buffer, so the write meets the closed pipe.
        string tool = _tools.Script("quick", "echo done; exit 4");

        HostToolResult result = await HostToolRunner.RunAsync(tool, [], TimeSpan.FromSeconds(60), standardInput: new string('x', 1 << 20), cancellationToken: TestContext.Current.CancellationToken)
            .WaitAsync(TestBound, TestContext.Current.CancellationToken);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("done\n", result.StandardOutput);
    }

    [Fact]
    public async Task A_tool_that_hangs_is_killed_with_its_children_at_the_timeout_and_reaped()
    {
        string pidFile = Path.Combine(_tools.Directory, "pids");
        string tool = _tools.Hanging("hang", pidFile);

        TimeoutException ex = await Assert.ThrowsAsync<TimeoutException>(
            () => HostToolRunner.RunAsync(tool, ["--version"], TimeSpan.FromSeconds(10), cancellationToken: TestContext.Current.CancellationToken).WaitAsync(TestBound, TestContext.Current.CancellationToken));

        Assert.Contains($"'{tool} --version' did not exit within 10 s, so it was killed", ex.Message, StringComparison.Ordinal);
        IReadOnlyList<int> pids = FakeTools.ReadPids(pidFile);
        Assert.Equal(2, pids.Count);
        foreach (int pid in pids)
        {
            Assert.False(await FakeTools.StillThereAsync(pid), $"pid {pid} of the hanging tool is still there");
        }
    }

    [Fact]
    public async Task Cancelling_kills_the_tool_with_its_children_and_keeps_the_callers_token()
    {
        string pidFile = Path.Combine(_tools.Directory, "pids");
        string tool = _tools.Hanging("hang", pidFile);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        Task<HostToolResult> run = HostToolRunner.RunAsync(tool, [], TimeSpan.FromMinutes(10), cancellationToken: cancel.Token);
        for (int i = 0; i < 1200 && !File.Exists(pidFile); i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        await cancel.CancelAsync();
        OperationCanceledException ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TestBound, TestContext.Current.CancellationToken));

        Assert.Equal(cancel.Token, ex.CancellationToken);
        foreach (int pid in FakeTools.ReadPids(pidFile))
        {
            Assert.False(await FakeTools.StillThereAsync(pid), $"pid {pid} of the cancelled tool is still there");
        }
    }

    [Fact]
    public async Task A_tool_runs_under_the_orphan_guard_so_it_dies_with_this_process()
    {
        Assert.True(OrphanGuard.IsAvailable, "setpriv (util-linux) is on PATH here; run 'bash build/install-prerequisites.sh'");
        string setpriv = HostToolSearch.FindOnPath("setpriv")!;

        // setpriv --dump describes the process it runs in: the tool itself, started under the guard.
        HostToolResult result = await HostToolRunner.RunAsync(setpriv, ["--dump"], TimeSpan.FromSeconds(60), cancellationToken: TestContext.Current.CancellationToken)
            .WaitAsync(TestBound, TestContext.Current.CancellationToken);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Parent death signal: KILL", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal([setpriv, "--dump"], result.CommandLine);
    }

    [Theory]
    [InlineData("folder", nameof(HostToolProblem.Directory), "is a folder, not a program")]
    [InlineData("plain", nameof(HostToolProblem.NotExecutable), "is not executable (no execute bit; run 'chmod +x ")]
    [InlineData("missing", nameof(HostToolProblem.Missing), "does not exist")]
    [InlineData("garbage", nameof(HostToolProblem.CannotStart), "cannot be started")]
    public async Task A_tool_that_cannot_run_says_why(string kind, string problem, string message)
    {
        string path = Path.Combine(_tools.Directory, kind);
        switch (kind)
        {
            case "folder":
                Directory.CreateDirectory(path);
                break;
            case "plain":
                _tools.Script(kind, "echo hi", executable: false);
                break;
            case "garbage":
                // Executable bit, but no interpreter line and not a binary: the kernel refuses to run it.
                File.WriteAllBytes(path, [0x00, 0x01, 0x02, 0x03]);
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                break;
        }

        HostToolException ex = await Assert.ThrowsAsync<HostToolException>(
            () => HostToolRunner.RunAsync(path, [], TimeSpan.FromSeconds(60), cancellationToken: TestContext.Current.CancellationToken).WaitAsync(TestBound, TestContext.Current.CancellationToken));

        Assert.Equal(problem, ex.Problem.ToString());
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_search_skips_folders_and_files_without_the_execute_bit()
    {
        string first = Path.Combine(_tools.Directory, "a");
        string second = Path.Combine(_tools.Directory, "b");
        string third = Path.Combine(_tools.Directory, "c");
        Directory.CreateDirectory(Path.Combine(first, "tool"));
        Directory.CreateDirectory(second);
        File.WriteAllText(Path.Combine(second, "tool"), "#!/bin/sh\n");
        Directory.CreateDirectory(third);
        string good = Path.Combine(third, "tool");
        File.WriteAllText(good, "#!/bin/sh\n");
        File.SetUnixFileMode(good, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        Assert.Equal(good, HostToolSearch.Find("tool", [first, second, third]));
        Assert.Null(HostToolSearch.Find("tool", [first, second]));
    }
}
