using System.Collections.Concurrent;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.WarmStart;

/// <summary>
/// <see cref="WarmStartOptions.PrestartNext"/> with real QEMU and the tiny guest: the next restore takes the QEMU started
/// for it, with its own log files; a spare that no longer fits is killed, not used; a rebuild does not touch the RAM
/// file a spare maps; nothing is left. Three cold boots
/// and four restores in all. The only tests that make spares, so the process-wide cleanup here touches nobody else's.
/// </summary>
public sealed class WarmStartPrestartTests : IDisposable
{
    private readonly ScratchDirectory _cache = new("qtk-warmspare");
    private readonly ScratchDirectory _logs = new("qtk-warmspare-logs");
    private readonly ConcurrentQueue<string> _progress = new();
    private readonly BootedMachines _machines = new();

    private static QemuProfile Tiny => BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

    private WarmStartOptions Options => new() { CacheDirectory = _cache.Path, Progress = _progress.Enqueue, PrestartNext = true };

    [Fact(Timeout = 300_000)]
    public async Task The_next_restore_takes_the_prestarted_QEMU_with_its_own_log_files_and_nothing_is_left()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        WarmStartResult saved = await _machines.WarmLaunchAsync(Tiny, Options, ct);
        Assert.Equal(WarmStartMode.Saved, saved.Mode);

        // The save started the next QEMU: waiting for its state, no console connected yet.
        QemuMachine spare = Assert.IsType<QemuMachine>(await WarmStartSpares.PeekAsync(saved.StateDirectory!));
        Assert.True(spare.IsRunning);
        _machines.Record(spare);

        string logDir = Path.Combine(_logs.Path, "class-b");
        string consoleLog = Path.Combine(logDir, "console.log");
        WarmStartResult restored = await WarmStartCache.LaunchAsync(
            Tiny, new QemuMachineOptions { LogDir = logDir, ConsoleLogPath = consoleLog }, Options with { Launched = _machines.Track }, ct);

        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.Same(spare, restored.Machine);
        Assert.True(restored.Timeline!.Prestarted);
        Assert.Contains(_progress, line => line.Contains("QEMU prestarted", StringComparison.Ordinal));
        Assert.Equal("prestarted", await restored.Machine.Console.RunAsync("echo prestarted", cancellationToken: ct));

        // The taker's folders, not the spare's: QEMU's own output moved there, the console logs there.
        Assert.Equal(logDir, restored.Machine.LogDir);
        Assert.True(File.Exists(Path.Combine(logDir, restored.Machine.Name + ".log")), "QEMU's output file is in the taker's log folder");
        Assert.Equal(consoleLog, restored.Machine.ConsoleLogPath);

        // One spare per state: the restore started the next one.
        Assert.Equal(1, WarmStartSpares.Count);
        QemuMachine next = Assert.IsType<QemuMachine>(await WarmStartSpares.PeekAsync(saved.StateDirectory!));
        Assert.NotSame(spare, next);
        _machines.Leaks.Record(next);

        await WarmStartSpares.DisposeAllAsync();
        Assert.Equal(0, WarmStartSpares.Count);
        Assert.False(next.IsRunning);
        await _machines.ShutdownAllAsync(ct);
        Assert.Contains("prestarted", await File.ReadAllTextAsync(consoleLog, ct), StringComparison.Ordinal);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_spare_that_no_longer_fits_is_killed_and_the_restore_starts_its_own_QEMU()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        WarmStartResult first = await _machines.WarmLaunchAsync(Tiny, Options, ct);
        QemuMachine stale = Assert.IsType<QemuMachine>(await WarmStartSpares.PeekAsync(first.StateDirectory!));
        _machines.Leaks.Record(stale);

        // The state is rebuilt after the spare started (as after a corrupt restore elsewhere): the spare keeps the old RAM
        // file mapped (privately, so a write into that file would show through the pages its guest has not written), and
        // the rebuild writes a new file and unlinks the old one instead.
        (long staleInode, bool staleDeleted) = MappedRam(stale);
        Assert.False(staleDeleted);
        new WarmStartState(_cache.Path, first.Key!).Delete();
        WarmStartResult rebuilt = await _machines.WarmLaunchAsync(Tiny, Options, ct);
        Assert.Equal(WarmStartMode.Saved, rebuilt.Mode);
        Assert.Equal(1, WarmStartSpares.Count);
        Assert.True(stale.IsRunning);
        Assert.Equal((staleInode, true), MappedRam(stale));

        WarmStartResult restored = await _machines.WarmLaunchAsync(Tiny, Options, ct);
        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.False(restored.Timeline!.Prestarted);
        Assert.NotSame(stale, restored.Machine);
        Assert.False(stale.IsRunning, "the spare of the old state was killed");
        Assert.NotEqual(staleInode, MappedRam(restored.Machine).Inode);
        Assert.Equal("fresh", await restored.Machine.Console.RunAsync("echo fresh", cancellationToken: ct));

        // A log folder on another file system (tmpfs): QEMU's output file cannot be renamed there, so the spare is not
        // handed over (QEMU would write on into a deleted file) and the restore starts its own QEMU, logging there.
        QemuMachine fitting = Assert.IsType<QemuMachine>(await WarmStartSpares.PeekAsync(first.StateDirectory!));
        _machines.Leaks.Record(fitting);
        string otherFileSystem = Path.Combine("/dev/shm", "qtk-warmspare-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            WarmStartResult elsewhere = await WarmStartCache.LaunchAsync(Tiny, new QemuMachineOptions { LogDir = otherFileSystem }, Options with { Launched = _machines.Track }, ct);
            _machines.Record(elsewhere.Machine);
            Assert.Equal(WarmStartMode.Restored, elsewhere.Mode);
            Assert.False(elsewhere.Timeline!.Prestarted);
            Assert.False(fitting.IsRunning, "the spare that could not be handed over was killed");
            Assert.Contains(_progress, line => line.Contains("could not be handed over", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(otherFileSystem, elsewhere.Machine.Name + ".log")));
            Assert.Equal("elsewhere", await elsewhere.Machine.Console.RunAsync("echo elsewhere", cancellationToken: ct));

            // No more spares for a state whose spares cannot be handed over: each would be started and killed for nothing.
            Assert.Equal(0, WarmStartSpares.Count);
            await _machines.ShutdownAllAsync(ct);
        }
        finally
        {
            if (Directory.Exists(otherFileSystem))
            {
                Directory.Delete(otherFileSystem, recursive: true);
            }
        }
    }

    [Fact]
    public void Spares_fit_callers_whose_settings_differ_only_in_their_log_folders()
    {
        static CancellationToken Ambient() => TestContext.Current.CancellationToken;
        QemuMachineOptions Settings() => new() { Name = "qemu", AmbientCancellation = Ambient, Environment = new Dictionary<string, string?> { ["A"] = "1" } };

        Assert.True(WarmStartSpares.SameSettings(Settings(), Settings()));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { CommandTimeout = TimeSpan.FromSeconds(5) }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Args = ["-S"] }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Wrapper = ["strace"] }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Environment = new Dictionary<string, string?> { ["A"] = "2" } }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Detachable = true }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { AmbientCancellation = () => CancellationToken.None }));
    }

    /// <summary>The inode of the saved RAM file <paramref name="machine"/> maps, and whether that file was unlinked since.</summary>
    private (long Inode, bool Deleted) MappedRam(QemuMachine machine)
    {
        // /proc/<pid>/maps: address perms offset device inode path, " (deleted)" after the path of an unlinked file.
        string line = Assert.Single(File.ReadLines($"/proc/{machine.Pid}/maps"), l => l.Contains(_cache.Path, StringComparison.Ordinal)
            && (l.EndsWith("/" + WarmStartState.RamFile, StringComparison.Ordinal) || l.EndsWith("/" + WarmStartState.RamFile + " (deleted)", StringComparison.Ordinal)));
        string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[4], System.Globalization.CultureInfo.InvariantCulture), line.EndsWith(" (deleted)", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        WarmStartSpares.DisposeAllAsync().GetAwaiter().GetResult();
        _machines.Dispose();
        _cache.Dispose();
        _logs.Dispose();
    }
}
