using System.Diagnostics;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Machine;

/// <summary>No QEMU outlives the process that launched it, and the guard does not fire while that process lives.</summary>
public sealed class OrphanTests
{
    [Fact(Timeout = 120_000)]
    public async Task QEMU_dies_with_a_test_process_killed_by_SIGKILL()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.True(ProcessQemuLauncher.HasOrphanGuard, "setpriv (util-linux) is needed for the orphan guard");
        using var baseDir = new ScratchDirectory();
        var psi = new ProcessStartInfo(OrphanHostPath()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(TestPrerequisites.QemuBinary);
        psi.ArgumentList.Add(baseDir.Path);
        // A .NET process creates its debugger pipes and diagnostic socket in /tmp and removes them only on a clean exit;
        // this one is SIGKILLed on purpose, so it must not create them, or every run would leave them behind.
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        var output = new System.Text.StringBuilder();
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using Process host = new() { StartInfo = psi };
        host.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("QEMU-PID ", StringComparison.Ordinal) == true)
            {
                started.TrySetResult(int.Parse(e.Data["QEMU-PID ".Length..], System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        host.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        host.Start();
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        int qemuPid;
        try
        {
            qemuPid = await started.Task.WaitAsync(TimeSpan.FromSeconds(90), ct);
            Assert.Contains(qemuPid, LeakCheck.QemuChildrenOf(host.Id));
        }
        catch (TimeoutException)
        {
            lock (output)
            {
                Assert.Fail($"the orphan host did not launch QEMU; its output:\n{output}");
            }

            throw;
        }
        finally
        {
            host.Kill(); // SIGKILL: no managed code of the host runs any more
        }

        // Not WaitForExitAsync: it would also wait for the output pipes to close.
        DateTime hostDeadline = DateTime.UtcNow.AddSeconds(20);
        while (!host.HasExited && DateTime.UtcNow < hostDeadline)
        {
            await Task.Delay(50, ct);
        }

        Assert.True(host.HasExited);
        DateTime until = DateTime.UtcNow.AddSeconds(20);
        while (IsAlive(qemuPid) && DateTime.UtcNow < until)
        {
            await Task.Delay(50, ct);
        }

        Assert.False(IsAlive(qemuPid), $"QEMU {qemuPid} outlived its SIGKILLed parent");
    }

    [Fact(Timeout = 120_000)]
    public async Task QEMU_survives_the_exit_of_the_thread_that_launched_it_and_thread_pool_churn()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();

        // The parent-death signal follows the thread that forked: launch from a thread that then ends.
        var launcher = new Thread(() => machine.LaunchAsync(ct).GetAwaiter().GetResult());
        launcher.Start();
        launcher.Join();
        leaks.Record(machine);

        for (int round = 0; round < 20; round++)
        {
            Thread[] threads = [.. Enumerable.Range(0, 10).Select(_ => new Thread(() => Thread.Sleep(1)))];
            foreach (Thread t in threads)
            {
                t.Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }

            await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => Thread.Sleep(1), ct)));
            await Task.Delay(100, ct);
        }

        Assert.True(machine.IsRunning);
        Assert.True((await machine.CommandAsync("query-status", cancellationToken: ct)).GetProperty("running").GetBoolean());
        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string OrphanHostPath()
    {
        // artifacts/bin/QemuTestKit.Tests/<config>/ → artifacts/bin/QemuTestKit.Tests.OrphanHost/<config>/
        string own = AppContext.BaseDirectory.TrimEnd('/');
        string config = Path.GetFileName(own);
        string path = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(own))!, "QemuTestKit.Tests.OrphanHost", config, "QemuTestKit.Tests.OrphanHost");
        Assert.True(File.Exists(path), $"the orphan host was not built at {path}");
        return path;
    }
}
