namespace QemuTestKit.Tests.Machine;

[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>Runs alone, so descriptor counts are not disturbed by other tests.</summary>
[Collection(nameof(RunsAlone))]
public sealed class CycleTests
{
    [Fact(Timeout = 300_000)]
    public async Task Fifty_launch_shutdown_cycles_leave_nothing_behind()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        var leaks = new LeakCheck();

        // One warm-up cycle: the first launch loads code and starts the spawn thread, which stay.
        await using (QemuMachine warm = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path }))
        {
            await warm.LaunchAsync(ct);
            await warm.ShutdownAsync(cancellationToken: ct);
        }

        int fdsBefore = OpenDescriptors();
        for (int i = 0; i < 50; i++)
        {
            await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path });
            machine.SetConsole();
            await machine.LaunchAsync(ct);
            leaks.Record(machine);
            await machine.ShutdownAsync(cancellationToken: ct);
            Assert.Equal(0, machine.ExitCode);
        }

        await leaks.AssertNothingLeftAsync();
        Assert.Empty(LeakCheck.QemuChildrenOf(Environment.ProcessId));
        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
        int fdsAfter = OpenDescriptors();

        // A leak of one descriptor per cycle would show as 50; allow the runtime a little slack for its own lazies.
        Assert.True(fdsAfter - fdsBefore < 5, $"descriptors: {fdsBefore} before, {fdsAfter} after 50 cycles");
    }

    private static int OpenDescriptors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Directory.GetFileSystemEntries("/proc/self/fd").Length;
    }
}
