using System.Collections.Concurrent;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.WarmStart;

/// <summary>
/// <see cref="WarmStartOptions.PrestartNext"/> with real QEMU and the tiny guest: the next restore takes the QEMU prepared
/// for it (restored, proven, paused), with its own log files and no guest time gone by while it waited; a spare that no longer fits is killed, not used; a rebuild does not touch the RAM
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

        // The guest time of the saved VM, which runs on: the restored guest must not be later than this by the time the
        // spare waited paused below.
        double savedUptime = await UptimeAsync(saved.Machine, ct);

        // The save prepared the next restore: a QEMU with the state loaded, its guest proven to answer and paused since,
        // its console logging into the machine's own folder.
        QemuMachine spare = Assert.IsType<QemuMachine>(await WarmStartSpares.PeekAsync(saved.StateDirectory!));
        Assert.True(spare.IsRunning);
        _machines.Record(spare);
        Assert.Equal("paused", (await spare.Qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
        string spareConsoleLog = Assert.IsType<string>(spare.ConsoleLogPath);
        Assert.StartsWith(spare.TempDir + "/", spareConsoleLog, StringComparison.Ordinal);
        string proof = await File.ReadAllTextAsync(spareConsoleLog, ct);
        Assert.NotEmpty(proof);
        await Task.Delay(TimeSpan.FromSeconds(3), ct);

        string logDir = Path.Combine(_logs.Path, "class-b");
        string consoleLog = Path.Combine(logDir, "console.log");
        WarmStartResult restored = await WarmStartCache.LaunchAsync(
            Tiny, new QemuMachineOptions { LogDir = logDir, ConsoleLogPath = consoleLog }, Options with { Launched = _machines.Track }, ct);

        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.Same(spare, restored.Machine);
        Assert.True(restored.Timeline!.Prestarted);
        Assert.Contains(_progress, line => line.Contains("QEMU prestarted", StringComparison.Ordinal));
        Assert.Equal("running", (await spare.Qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
        Assert.Equal("prestarted", await restored.Machine.Console.RunAsync("echo prestarted", cancellationToken: ct));

        // The guest did not run while the spare waited (3 s): it is where the saved one was, give or take the restore.
        double restoredUptime = await UptimeAsync(restored.Machine, ct);
        Assert.True(restoredUptime < savedUptime + 1.5, $"the restored guest's uptime {restoredUptime} s is the saved guest's {savedUptime} s plus the spare's wait: it ran while paused");

        // The taker's folders, not the spare's: QEMU's own output moved there, the console logs there.
        Assert.Equal(logDir, restored.Machine.LogDir);
        Assert.True(File.Exists(Path.Combine(logDir, restored.Machine.Name + ".log")), "QEMU's output file is in the taker's log folder");
        Assert.Equal(consoleLog, restored.Machine.ConsoleLogPath);
        Assert.Equal(consoleLog, restored.Machine.Console.LogPath);
        Assert.False(File.Exists(spareConsoleLog), "the spare's console log moved to the taker's");

        // One spare per state: the restore started the next one.
        Assert.Equal(1, WarmStartSpares.Count);
        QemuMachine next = Assert.IsType<QemuMachine>(await WarmStartSpares.PeekAsync(saved.StateDirectory!));
        Assert.NotSame(spare, next);
        _machines.Leaks.Record(next);

        await WarmStartSpares.DisposeAllAsync();
        Assert.Equal(0, WarmStartSpares.Count);
        Assert.False(next.IsRunning);
        await _machines.ShutdownAllAsync(ct);

        // One file from the spare's first byte to the end: its proof, then what the test did.
        string log = await File.ReadAllTextAsync(consoleLog, ct);
        Assert.StartsWith(proof, log, StringComparison.Ordinal);
        Assert.Contains("prestarted", log[proof.Length..], StringComparison.Ordinal);
    }

    /// <summary>The guest's uptime in seconds (<c>/proc/uptime</c>): its clock, which stands still while QEMU is paused.</summary>
    private static async Task<double> UptimeAsync(QemuMachine machine, CancellationToken ct) =>
        double.Parse((await machine.Console.RunAsync("cut -d' ' -f1 /proc/uptime", cancellationToken: ct)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

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

    [Fact(Timeout = 90_000)]
    public async Task A_spare_frozen_while_it_prepares_holds_the_next_restore_no_longer_than_the_restore_timeout_and_is_killed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // The restore timeout bounds the wait; without it the spare's own QMP timer (60 s) would end it, and say only that its preparation failed.
        WarmStartOptions options = Options with { RestoreTimeout = TimeSpan.FromSeconds(3) };
        Task<(int Pid, ulong StartTime)> freezing = FreezeFirstSpareAsync(ct);
        WarmStartResult saved = await _machines.WarmLaunchAsync(Tiny, options, ct);
        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        (int pid, ulong startTime) = await freezing;
        try
        {
            WarmStartResult restored = await WarmStartCache.LaunchAsync(Tiny, null, options with { Launched = _machines.Track }, ct);

            // Given up (not ready in time, or frozen after its preparation: it then did not continue), killed, and the
            // restore started its own QEMU.
            Assert.Equal(WarmStartMode.Restored, restored.Mode);
            Assert.False(restored.Timeline!.Prestarted);
            Assert.Contains(_progress, line => line.Contains("prepared QEMU of 'tiny'", StringComparison.Ordinal) && line.Contains("within 3", StringComparison.Ordinal)
                && line.Contains("starting a new one", StringComparison.Ordinal));
            Assert.False(ProcessStat.IsAlive(pid, startTime), "the frozen spare was killed");
            Assert.Equal("own", await restored.Machine.Console.RunAsync("echo own", cancellationToken: ct));
            await _machines.ShutdownAllAsync(ct);
        }
        finally
        {
            if (ProcessStat.IsAlive(pid, startTime))
            {
                Signals.ResumeAndKill(pid);
            }
        }
    }

    /// <summary>Stops (SIGSTOP) the first spare QEMU of this test's cache the moment it appears: started with <c>-incoming</c>, mapping a RAM file there.</summary>
    private Task<(int Pid, ulong StartTime)> FreezeFirstSpareAsync(CancellationToken ct) => Task.Run(
        async () =>
        {
            while (true)
            {
                foreach (string dir in Directory.EnumerateDirectories("/proc"))
                {
                    if (!int.TryParse(Path.GetFileName(dir), out int pid))
                    {
                        continue;
                    }

                    string[] args;
                    try
                    {
                        args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                    }
                    catch (IOException)
                    {
                        continue;
                    }

                    if (args.Contains("-incoming") && args.Any(a => a.Contains(_cache.Path, StringComparison.Ordinal)) && ProcessStat.Read(pid) is { IsDead: false } stat)
                    {
                        Signals.Send(pid, Signals.SIGSTOP);
                        return (pid, stat.StartTime);
                    }
                }

                await Task.Delay(1, ct);
            }
        },
        ct);

    [Fact]
    public void Spares_fit_callers_whose_settings_differ_only_in_their_log_folders()
    {
        static CancellationToken Ambient() => TestContext.Current.CancellationToken;

        // Equal content in other instances, as two classes' options have.
        QemuMachineOptions Settings() => new()
        {
            Name = "qemu", Args = ["-m", "256M"], AmbientCancellation = Ambient, Environment = new Dictionary<string, string?> { ["A"] = "1" },
        };

        Assert.True(WarmStartSpares.SameSettings(Settings(), Settings()));
        Assert.True(WarmStartSpares.SameSettings(Settings(), Settings() with { LogDir = "/elsewhere", ConsoleLogPath = "/elsewhere/console.log" }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Args = ["-m", "1G"] }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Environment = new Dictionary<string, string?> { ["A"] = "2" } }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { Environment = new Dictionary<string, string?> { ["A"] = "1", ["B"] = null } }));
        Assert.False(WarmStartSpares.SameSettings(Settings(), Settings() with { AmbientCancellation = () => CancellationToken.None }));

        // Every other setting, each changed alone, makes the spare unfit: an option added later is compared too, or this
        // test names its type.
        var compared = new List<string>();
        foreach (System.Reflection.PropertyInfo property in typeof(QemuMachineOptions).GetProperties())
        {
            if (property.Name is nameof(QemuMachineOptions.LogDir) or nameof(QemuMachineOptions.ConsoleLogPath))
            {
                continue;
            }

            QemuMachineOptions changed = Settings();
            object before = property.GetValue(changed) ?? "(null)";
            property.SetValue(changed, OtherValue(property.PropertyType, property.GetValue(changed)));
            Assert.False(WarmStartSpares.SameSettings(Settings(), changed), $"{property.Name} changed from {before} but the spare still fits");
            compared.Add(property.Name);
        }

        Assert.Contains(nameof(QemuMachineOptions.Detachable), compared);
        Assert.Contains(nameof(QemuMachineOptions.Logger), compared);
    }

    /// <summary>A value of <paramref name="type"/> other than <paramref name="current"/>, for the settings comparison.</summary>
    private static object OtherValue(Type type, object? current) => type switch
    {
        _ when type == typeof(string) => current + "-other",
        _ when type == typeof(bool) => !(bool)current!,
        _ when type == typeof(TimeSpan) || type == typeof(TimeSpan?) => ((TimeSpan?)current ?? TimeSpan.Zero) + TimeSpan.FromSeconds(1),
        _ when type == typeof(IReadOnlyList<string>) => (IReadOnlyList<string>)[.. (IReadOnlyList<string>)current!, "-other"],
        _ when type == typeof(IReadOnlyDictionary<string, string?>) => new Dictionary<string, string?> { ["OTHER"] = "1" },
        _ when type == typeof(Func<CancellationToken>) => (Func<CancellationToken>)(() => CancellationToken.None),
        _ when type == typeof(QemuSocketAddress) => QemuSocketAddress.Unix("/tmp/other.sock"),
        _ when type == typeof(QemuGdbStub) => (QemuGdbStub)current! == QemuGdbStub.Off ? QemuGdbStub.On : QemuGdbStub.Off,
        _ when type == typeof(Microsoft.Extensions.Logging.ILogger) => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
        _ when type == typeof(QemuTestKit.Sdk.IQemuLauncher) => QemuTestKit.Sdk.ProcessQemuLauncher.Default,
        _ => throw new InvalidOperationException($"QemuMachineOptions has a setting of type {type}: give it another value here, so the spare comparison is tested for it."),
    };

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
