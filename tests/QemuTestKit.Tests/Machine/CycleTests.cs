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
        // Socket descriptors show as "socket:[inode]", so a leaked QMP or console connection is visible in the list.
        await using (QemuMachine warm = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path }))
        {
            await warm.LaunchAsync(ct);
            await warm.ShutdownAsync(cancellationToken: ct);
        }

        Dictionary<string, string> fdsBefore = OpenDescriptors();
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
        Dictionary<string, string> fdsAfter = OpenDescriptors();

        // A leak of one descriptor per cycle would show as 50 or more; the runtime and the test framework open a few of
        // their own on the way (epoll, eventfd, pipes), so a small difference is tolerated and shown.
        string[] added = [.. fdsAfter.Where(kv => !fdsBefore.TryGetValue(kv.Key, out string? target) || target != kv.Value).Select(kv => $"{kv.Key} -> {kv.Value}")];
        Assert.True(added.Length < 10, $"descriptors: {fdsBefore.Count} before, {fdsAfter.Count} after 50 cycles; new: {string.Join(", ", added)}");
        Assert.DoesNotContain(added, a => a.Contains(baseDir.Path, StringComparison.Ordinal) || a.Contains(".sock", StringComparison.Ordinal));
    }

    private static Dictionary<string, string> OpenDescriptors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string fd in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                result[Path.GetFileName(fd)] = new FileInfo(fd).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                // Closed while listing.
            }
        }

        return result;
    }
}
