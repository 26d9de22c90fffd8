using QemuTestKit.Sdk;

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
        using OrphanHost host = await OrphanHost.StartAsync(baseDir.Path, wrapper: null, ct);
        int qemuPid = host.MachinePid;
        try
        {
            Assert.Contains(qemuPid, LeakCheck.QemuChildrenOf(host.Pid));
        }
        finally
        {
            await host.KillAsync(ct);
        }

        await WaitUntilDeadAsync(qemuPid, ct);
        Assert.False(IsAlive(qemuPid), $"QEMU {qemuPid} outlived its SIGKILLed parent");
    }

    [Fact(Timeout = 120_000)]
    public async Task QEMU_forked_by_a_wrapper_dies_with_a_test_process_killed_by_SIGKILL()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        using var wrapper = new ForkingWrapper();
        using OrphanHost host = await OrphanHost.StartAsync(baseDir.Path, wrapper.Path, ct);
        int wrapperPid = host.MachinePid;
        int qemuPid = 0;
        try
        {
            Assert.Contains(wrapperPid, ChildrenOf(host.Pid));
            qemuPid = await ForkingWrapper.QemuChildAsync(wrapperPid, ct);
            await host.KillAsync(ct);

            await WaitUntilDeadAsync(qemuPid, ct);
            Assert.False(IsAlive(qemuPid), $"QEMU {qemuPid}, forked by the wrapper {wrapperPid}, outlived the SIGKILLed test process");
            Assert.False(IsAlive(wrapperPid), $"the wrapper {wrapperPid} outlived the SIGKILLed test process");
        }
        finally
        {
            if (qemuPid != 0)
            {
                Signals.ResumeAndKill(qemuPid);
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task The_folders_of_a_test_process_killed_by_SIGKILL_are_swept_by_the_next_launch()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        using OrphanHost host = await OrphanHost.StartAsync(baseDir.Path, wrapper: null, ct);
        string leftover = host.TempDir;
        await host.KillAsync(ct);
        await WaitUntilDeadAsync(host.MachinePid, ct);
        Assert.True(Directory.Exists(leftover), $"the killed host's folder '{leftover}' should be there before the sweep");

        // The first launch of this process under that folder sweeps it.
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.False(Directory.Exists(leftover), $"'{leftover}', left by the SIGKILLed host, was not swept");
        Assert.True(Directory.Exists(machine.TempDir));
        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
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

    private static async Task WaitUntilDeadAsync(int pid, CancellationToken cancellationToken)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(20);
        while (IsAlive(pid) && DateTime.UtcNow < until)
        {
            await Task.Delay(50, cancellationToken);
        }
    }

    private static List<int> ChildrenOf(int parentPid)
    {
        var result = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out int pid)
                    && File.ReadAllText(Path.Combine(dir, "stat")) is { } stat
                    && stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == parentPid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    result.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return result;
    }
}
