using System.Diagnostics;

namespace QemuTestKit.Tests.Machine;

/// <summary>Folders of dead owners are swept at the first launch; a live owner's folder, and an unmarked one, never are.</summary>
public sealed class SweepTests
{
    [Fact(Timeout = 60_000)]
    public async Task The_first_launch_sweeps_dead_owners_folders_and_keeps_live_ones()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        ProcessStat self = ProcessStat.Read(Environment.ProcessId) ?? throw new InvalidOperationException("no /proc/self/stat");
        int exitedPid = await ExitedProcessPidAsync(ct);

        string live = Marked(baseDir.Path, "qemu-machine-live01", OwnerMarker.Format(self.Pid, self.StartTime));
        string deadPid = Marked(baseDir.Path, "qemu-machine-dead01", OwnerMarker.Format(exitedPid, 1));

        // This process's pid with another start time: a recycled pid, so its owner is gone too.
        string recycledPid = Marked(baseDir.Path, "qemu-machine-dead02", OwnerMarker.Format(self.Pid, self.StartTime + 1));
        string unmarked = Path.Combine(baseDir.Path, "qemu-machine-nomark");
        Directory.CreateDirectory(unmarked);
        string foreignMarker = Marked(baseDir.Path, "qemu-machine-other1", "not a marker of ours\n");
        string otherPrefix = Marked(baseDir.Path, "other-dead01", OwnerMarker.Format(exitedPid, 1));

        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.False(Directory.Exists(deadPid), "the folder of an exited owner was kept");
        Assert.False(Directory.Exists(recycledPid), "the folder of an owner whose pid was recycled was kept");
        Assert.True(Directory.Exists(live), "a live owner's folder was swept");
        Assert.True(Directory.Exists(unmarked), "an unmarked folder was swept");
        Assert.True(Directory.Exists(foreignMarker), "a folder with a marker that is not ours was swept");
        Assert.True(Directory.Exists(otherPrefix), "a folder without the machine's prefix was swept");
        Assert.Equal(
            OwnerMarker.Format(self.Pid, self.StartTime),
            await File.ReadAllTextAsync(Path.Combine(machine.TempDir, OwnerMarker.FileName), ct));

        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
        Assert.True(Directory.Exists(live));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_short_socket_folder_carries_the_owner_marker_and_a_dead_owners_one_is_swept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchDirectory();
        ProcessStat self = ProcessStat.Read(Environment.ProcessId) ?? throw new InvalidOperationException("no /proc/self/stat");
        int exitedPid = await ExitedProcessPidAsync(ct);
        string dead = Marked(scratch.Path, "qtk-dead01", OwnerMarker.Format(exitedPid, 1));
        string live = Marked(scratch.Path, "qtk-live01", OwnerMarker.Format(self.Pid, self.StartTime));
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = Path.Combine(scratch.Path, new string('b', 90)) });
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.StartsWith("/tmp/qtk-", machine.SockDir, StringComparison.Ordinal);
        Assert.Equal(
            OwnerMarker.Format(self.Pid, self.StartTime),
            await File.ReadAllTextAsync(Path.Combine(machine.SockDir, OwnerMarker.FileName), ct));

        // The launch swept /tmp once for this process; the same rule, applied to a folder of fakes, keeps the live one.
        Assert.Equal(1, OwnerMarker.Sweep(scratch.Path, "qtk-", new ListLogger()));
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live));
        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact]
    public void A_stat_line_is_parsed_from_the_last_parenthesis()
    {
        ProcessStat? stat = ProcessStat.Parse(42, "42 (qemu) (x) T 1 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 3 0 98765 1 2 3");

        Assert.Equal(new ProcessStat(42, 'T', 98765), stat);
        Assert.True(stat!.Value.IsStopped);
        Assert.Equal("stopped (T)", stat.Value.StateText);
        Assert.Null(ProcessStat.Parse(42, "garbage"));
    }

    private static string Marked(string parent, string name, string marker)
    {
        string dir = Path.Combine(parent, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, OwnerMarker.FileName), marker);
        File.WriteAllText(Path.Combine(dir, "payload"), "x");
        return dir;
    }

    /// <summary>The pid of a process that has exited and been reaped.</summary>
    private static async Task<int> ExitedProcessPidAsync(CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
        await process.WaitForExitAsync(cancellationToken);
        return process.Id;
    }
}
