using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.WarmStart;

/// <summary>
/// Warm start with real QEMU and the tiny guest. Each test has its own cache folder, so each builds its own state;
/// the boots are kept few (CI has two cores): nine cold boots and five restores in all.
/// </summary>
public sealed class WarmStartTests : IDisposable
{
    private static readonly TimeSpan s_shutdown = BootedMachines.ShutdownTimeout;

    private readonly ScratchDirectory _cache = new("qtk-warmcache");
    private readonly ConcurrentQueue<string> _progress = new();
    private readonly BootedMachines _machines = new();

    private static QemuProfile Tiny => BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

    [Fact(Timeout = 300_000)]
    public async Task First_VM_saves_later_VMs_restore_and_each_restored_VM_is_independent()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        WarmStartResult a = await LaunchAsync(Tiny, ct);
        Assert.Equal(WarmStartMode.Saved, a.Mode);
        Assert.NotNull(a.StateDirectory);
        Assert.True(File.Exists(Path.Combine(a.StateDirectory, "state")), "the state file was written");
        JsonNode metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(a.StateDirectory, "metadata.json"), ct))!;
        Assert.Equal(a.Key, metadata["key"]!.GetValue<string>());
        Assert.StartsWith("QEMU emulator version", metadata["qemuVersion"]!.GetValue<string>(), StringComparison.Ordinal);
        // The guest's RAM is saved (in the mapped RAM file: the stream holds only device state).
        Assert.True(a.MemoryMapped);
        Assert.Equal("mapped", metadata["memory"]!.GetValue<string>());
        Assert.True(metadata["ramBytesWritten"]!.GetValue<long>() > 1_000_000);
        Assert.True(metadata["stateBytes"]!.GetValue<long>() < metadata["ramBytesWritten"]!.GetValue<long>());
        Assert.Equal(256L << 20, new FileInfo(Path.Combine(a.StateDirectory, "ram")).Length);
        Assert.Contains(_progress, line => line.StartsWith("warm start: saved the state", StringComparison.Ordinal));

        // The saving VM ran on after the save, at its prompt.
        Assert.Equal("running", await StatusAsync(a.Machine, ct));
        // The kernel's own record of its boot, to the microsecond: the same in every VM restored from A's state, and
        // different for any other boot under TCG.
        const string BootRecord = "dmesg | grep -m1 'Run /init'";
        string bootA = await a.Machine.Console.RunAsync(BootRecord, cancellationToken: ct);
        Assert.Matches(@"^\[\s*\d+\.\d{6}\] Run /init", bootA);

        WarmStartResult b = await LaunchAsync(Tiny, ct);
        WarmStartResult c = await LaunchAsync(Tiny, ct);
        Assert.Equal(WarmStartMode.Restored, b.Mode);
        Assert.Equal(WarmStartMode.Restored, c.Mode);
        Assert.Equal(a.StateDirectory, b.StateDirectory);
        Assert.Null(b.Warning);

        // Restored, not booted: the same kernel boot, and no boot messages on the new console.
        Assert.Equal(bootA, await b.Machine.Console.RunAsync(BootRecord, cancellationToken: ct));
        Assert.Equal(bootA, await c.Machine.Console.RunAsync(BootRecord, cancellationToken: ct));
        Assert.DoesNotContain(TestPrerequisites.ReadyMarker, b.Machine.Console.Text, StringComparison.Ordinal);
        Assert.Contains(TestPrerequisites.ReadyMarker, a.Machine.Console.Text, StringComparison.Ordinal);
        double uptime = double.Parse((await b.Machine.Console.RunAsync("cut -d' ' -f1 /proc/uptime", cancellationToken: ct)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(uptime, 0.1, 600);

        // Own sockets and temp folders.
        Assert.Equal(3, new[] { a, b, c }.Select(r => r.Machine.SockDir).Distinct().Count());

        // Independent: a file written in one is not seen in another.
        Assert.Equal(0, (await b.Machine.Console.ExecAsync("echo from-b > /tmp/marker", cancellationToken: ct)).ExitCode);
        Assert.Equal(0, (await c.Machine.Console.ExecAsync("echo from-c > /tmp/other", cancellationToken: ct)).ExitCode);
        Assert.Equal("from-b", (await b.Machine.Console.ExecAsync("cat /tmp/marker", cancellationToken: ct)).Output.Trim());
        Assert.NotEqual(0, (await c.Machine.Console.ExecAsync("cat /tmp/marker", cancellationToken: ct)).ExitCode);
        Assert.NotEqual(0, (await a.Machine.Console.ExecAsync("cat /tmp/marker", cancellationToken: ct)).ExitCode);
        Assert.NotEqual(0, (await b.Machine.Console.ExecAsync("cat /tmp/other", cancellationToken: ct)).ExitCode);

        // QMP and the lifecycle behave as for a cold VM: quit, a guest poweroff, a kill.
        Assert.Equal("running", await StatusAsync(b.Machine, ct));
        await a.Machine.ShutdownAsync(timeout: s_shutdown, cancellationToken: ct);
        Assert.Equal(0, a.Machine.ExitCode);
        await b.Machine.Console.SendLineAsync("poweroff", ct);
        await b.Machine.WaitAsync(s_shutdown, ct);
        Assert.Equal(0, b.Machine.ExitCode);
        await c.Machine.KillAsync(ct);
        Assert.Equal(-9, c.Machine.ExitCode);

        await _machines.Leaks.AssertNothingLeftAsync();
        AssertCacheHoldsOnly(a.Key!);
    }

    [Fact(Timeout = 300_000)]
    public async Task Parallel_first_use_builds_once_and_the_other_restores()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        WarmStartResult[] both = await Task.WhenAll(LaunchAsync(Tiny, ct), LaunchAsync(Tiny, ct));

        Assert.Single(both, r => r.Mode == WarmStartMode.Saved);
        Assert.Single(both, r => r.Mode == WarmStartMode.Restored);
        Assert.Single(_progress, line => line.StartsWith("warm start: saved the state", StringComparison.Ordinal));
        foreach (WarmStartResult r in both)
        {
            Assert.Equal("hello", await r.Machine.Console.RunAsync("echo hello", cancellationToken: ct));
        }

        await _machines.ShutdownAllAsync(ct);
        AssertCacheHoldsOnly(both[0].Key!);
    }

    [Fact(Timeout = 300_000)]
    public async Task Corrupt_state_is_deleted_and_the_VM_boots_cold_with_a_warning()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string stateDirectory = await PlantStateAsync("corrupt", ct);
        await File.WriteAllTextAsync(Path.Combine(stateDirectory, "state"), "this is not a migration stream", ct);

        WarmStartResult result = await LaunchAsync(Tiny, ct);

        Assert.Equal(WarmStartMode.Cold, result.Mode);
        Assert.NotNull(result.Warning);
        Assert.Contains("failed", result.Warning, StringComparison.Ordinal);
        Assert.Contains(_progress, line => line.StartsWith("warm start WARNING:", StringComparison.Ordinal));
        Assert.False(Directory.Exists(stateDirectory), "the corrupt state is deleted");
        Assert.Contains(TestPrerequisites.ReadyMarker, result.Machine.Console.Text, StringComparison.Ordinal);
        Assert.Equal("cold", await result.Machine.Console.RunAsync("echo cold", cancellationToken: ct));

        await _machines.ShutdownAllAsync(ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task Restore_that_times_out_keeps_the_shared_state_and_boots_cold()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string stateDirectory = await PlantStateAsync("slow", ct);

        // A FIFO nobody writes to: QEMU's "cat state" waits forever, as a load on a badly overloaded host would.
        string fifo = Path.Combine(stateDirectory, "state");
        await RunAsync("mkfifo", [fifo], ct);
        try
        {
            WarmStartResult result = await WarmStartCache.LaunchAsync(
                Tiny,
                machineOptions: null,
                new WarmStartOptions { CacheDirectory = _cache.Path, Progress = _progress.Enqueue, Launched = _machines.Track, RestoreTimeout = TimeSpan.FromSeconds(3) },
                ct);
            _machines.Record(result.Machine);

            Assert.Equal(WarmStartMode.Cold, result.Mode);
            Assert.Contains("timed out", result.Warning, StringComparison.Ordinal);
            Assert.Contains("the state is kept", result.Warning, StringComparison.Ordinal);
            Assert.True(Directory.Exists(stateDirectory), "a state that merely timed out is not deleted");
            Assert.True(File.Exists(fifo), "the state file is still there");
            Assert.Equal("cold", await result.Machine.Console.RunAsync("echo cold", cancellationToken: ct));

            await _machines.ShutdownAllAsync(ct);
        }
        finally
        {
            // QEMU is gone, but its "cat" may still wait to open the FIFO (unless the kill of QEMU's process group ended it):
            // opening it read-write never blocks, and closing it ends a waiting cat with end-of-file.
            if (File.Exists(fifo))
            {
                await RunAsync("timeout", ["10", "sh", "-c", $"exec 3<> '{fifo}'"], CancellationToken.None);
            }
        }
    }

    [Fact(Timeout = 300_000)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Saved_state_is_private_to_the_user()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        WarmStartResult result = await LaunchAsync(Tiny, ct);

        Assert.Equal(WarmStartMode.Saved, result.Mode);
        const UnixFileMode Group = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute;
        const UnixFileMode Other = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        Assert.Equal(0, (int)(File.GetUnixFileMode(_cache.Path) & (Group | Other)));
        string[] entries = [.. Directory.EnumerateFileSystemEntries(_cache.Path, "*", SearchOption.AllDirectories)];
        Assert.Contains(entries, e => Path.GetFileName(e) == "state");
        Assert.Contains(entries, e => Path.GetFileName(e) == "metadata.json");
        foreach (string entry in entries)
        {
            UnixFileMode expected = Directory.Exists(entry)
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.True(File.GetUnixFileMode(entry) == expected, $"{entry} is {File.GetUnixFileMode(entry)}, expected {expected}");
        }

        await _machines.ShutdownAllAsync(ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task Warm_start_off_in_the_profile_boots_cold_and_saves_nothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        WarmStartResult result = await LaunchAsync(Tiny with { WarmStart = false }, ct);

        Assert.Equal(WarmStartMode.Cold, result.Mode);
        Assert.Null(result.Warning);
        Assert.Contains("warmStart: false", result.Detail, StringComparison.Ordinal);
        Assert.Null(result.Key);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache.Path));
        Assert.Equal("running", await StatusAsync(result.Machine, ct));

        await _machines.ShutdownAllAsync(ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task Writable_drives_get_per_VM_layers_over_the_saved_disk_and_the_image_is_never_written()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string image = Path.Combine(_cache.Path, "..", Path.GetFileName(_cache.Path) + "-disk.qcow2");
        image = Path.GetFullPath(image);
        try
        {
            await RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", image, "16M"], ct);
            byte[] before = await File.ReadAllBytesAsync(image, ct);
            QemuProfile profile = Tiny with { Drives = [new QemuDrive(image) { Format = "qcow2", Interface = "virtio" }] };

            WarmStartResult saved = await LaunchAsync(profile, ct);
            WarmStartResult restored = await LaunchAsync(profile, ct);

            Assert.Equal(WarmStartMode.Saved, saved.Mode);
            Assert.Equal(WarmStartMode.Restored, restored.Mode);
            Assert.True(File.Exists(Path.Combine(saved.StateDirectory!, "disk0.qcow2")), "the saving VM's disk layer is kept with the state");
            foreach (WarmStartResult r in new[] { saved, restored })
            {
                string drive = r.Machine.CommandLine.Single(a => a.Contains("disk0.qcow2", StringComparison.Ordinal));
                Assert.Contains(r.Machine.TempDir, drive, StringComparison.Ordinal);
                Assert.DoesNotContain(image, string.Join(' ', r.Machine.CommandLine), StringComparison.Ordinal);
            }

            // QEMU serves the disk from the VM's own layer.
            JsonElement blocks = await restored.Machine.Qmp.ExecuteAsync("query-block", cancellationToken: ct);
            Assert.Contains(blocks.EnumerateArray(), b => b.GetProperty("inserted").GetProperty("file").GetString()!.StartsWith(restored.Machine.TempDir, StringComparison.Ordinal));

            await _machines.ShutdownAllAsync(ct);
            Assert.Equal(before, await File.ReadAllBytesAsync(image, ct));
        }
        finally
        {
            File.Delete(image);
        }
    }

    public void Dispose()
    {
        _machines.Dispose();
        _cache.Dispose();
    }

    private Task<WarmStartResult> LaunchAsync(QemuProfile profile, CancellationToken ct) =>
        _machines.WarmLaunchAsync(profile, new WarmStartOptions { CacheDirectory = _cache.Path, Progress = _progress.Enqueue }, ct);

    private static async Task<string?> StatusAsync(QemuMachine machine, CancellationToken ct) =>
        (await machine.Qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString();

    /// <summary>
    /// The folder of Tiny's (mapped) saved state in this test's cache, with metadata of the given build id, a RAM file
    /// of zeros, and no state file yet.
    /// </summary>
    private async Task<string> PlantStateAsync(string buildId, CancellationToken ct)
    {
        string key = (await WarmStartKey.ComputeAsync(WarmStartKeyTests.Plan(Tiny), ct)).Hash;
        string stateDirectory = Path.Combine(_cache.Path, key);
        Directory.CreateDirectory(stateDirectory);
        await File.WriteAllTextAsync(Path.Combine(stateDirectory, "metadata.json"), $"{{\"buildId\": \"{buildId}\"}}", ct);
        using (FileStream ram = File.Create(Path.Combine(stateDirectory, "ram")))
        {
            ram.SetLength(256L << 20);
        }

        return stateDirectory;
    }

    /// <summary>Only the finished state and its lock file: no build or delete folders left behind.</summary>
    private void AssertCacheHoldsOnly(string key)
    {
        string[] entries = [.. Directory.EnumerateFileSystemEntries(_cache.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal([key, key + ".lock"], entries);
    }

    private static async Task RunAsync(string tool, string[] args, CancellationToken ct)
    {
        var start = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        await process.WaitForExitAsync(ct);
        Assert.True(process.ExitCode == 0, $"{tool} failed: {await process.StandardError.ReadToEndAsync(ct)}");
    }
}
