using System.Diagnostics;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The kept-VM registry (<see cref="KeptVms"/>) and the keep setting, with a stand-in process instead of QEMU.</summary>
public sealed class KeptVmsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("qtkkept-unit-").FullName;

    [Fact(Timeout = 120_000)]
    public async Task A_recorded_vm_is_listed_running_and_removal_stops_that_process_and_deletes_its_folder()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string directory = Directory.CreateDirectory(Path.Combine(_root, "vm")).FullName;
        using Process standIn = Process.Start("sleep", "600");
        try
        {
            KeptVm recorded = KeptVms.Record(
                new QemuDetachedMachine(standIn.Id, directory, Path.Combine(directory, "c.sock"), Path.Combine(directory, "q.sock"), null),
                "Ns.Class",
                "/results/Ns.Class");

            KeptVm listed = Assert.Single(KeptVms.List(_root));
            Assert.Equal(recorded with { KeptAtUtc = listed.KeptAtUtc }, listed);
            Assert.True(listed.IsRunning);
            Assert.Equal($"kill {standIn.Id}; rm -rf '{directory}'", listed.StopCommand);
            Assert.Contains($"socat -,raw,echo=0 UNIX-CONNECT:'{directory}/c.sock'", listed.Instructions(), StringComparison.Ordinal);
            Assert.Null(listed.GdbCommand);

            await KeptVms.RemoveAsync(listed, ct);

            await standIn.WaitForExitAsync(ct);
            Assert.False(Directory.Exists(directory));
            Assert.Empty(KeptVms.List(_root));
        }
        finally
        {
            if (!standIn.HasExited)
            {
                standIn.Kill();
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_recorded_pid_that_now_names_another_process_is_not_running_and_is_not_killed()
    {
        string directory = Directory.CreateDirectory(Path.Combine(_root, "vm")).FullName;
        using Process other = Process.Start("sleep", "600");
        try
        {
            KeptVm recorded = KeptVms.Record(new QemuDetachedMachine(other.Id, directory, null, Path.Combine(directory, "q.sock"), null), "Ns.Class", null);

            // The same pid with another start time: a process that reused the pid, not the kept QEMU.
            KeptVm stale = recorded with { StartTime = recorded.StartTime + 1 };

            Assert.False(stale.IsRunning);
            await KeptVms.RemoveAsync(stale, TestContext.Current.CancellationToken);
            Assert.False(other.HasExited);
            Assert.False(Directory.Exists(directory));
        }
        finally
        {
            other.Kill();
            await other.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    [Theory]
    [InlineData(null, VmKeep.Never, VmKeep.Never, false)]
    [InlineData(null, VmKeep.Failed, VmKeep.Failed, false)]
    [InlineData("failed", VmKeep.Never, VmKeep.Failed, false)]
    [InlineData(" Always ", VmKeep.Never, VmKeep.Always, false)]
    [InlineData("never", VmKeep.Always, VmKeep.Never, false)]
    [InlineData("clean", VmKeep.Failed, VmKeep.Never, true)]
    public void The_variable_wins_over_the_assembly_default(string? value, VmKeep assemblyDefault, VmKeep keep, bool clean)
    {
        Assert.Equal((keep, clean), KeepSetting.Parse(value, assemblyDefault));
    }

    [Fact]
    public void An_unknown_keep_value_lists_the_settings()
    {
        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => KeepSetting.Parse("yes", VmKeep.Never));

        Assert.Contains("QEMUTESTKIT_KEEP='yes'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("failed", ex.Message, StringComparison.Ordinal);
        Assert.Contains("clean", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_folder_whose_test_host_died_before_keeping_its_vm_is_removed_by_the_next_run_and_kept_folders_stay()
    {
        // A test host SIGKILLed between creating the folder and keeping its VM: its owner (a process that exited) is gone.
        using Process gone = Process.Start("true");
        await gone.WaitForExitAsync(TestContext.Current.CancellationToken);
        string orphan = Directory.CreateDirectory(Path.Combine(_root, "orphan")).FullName;
        File.WriteAllText(Path.Combine(orphan, OwnerMarker.FileName), OwnerMarker.Format(gone.Id, 1));

        // The folder of a run still going (this process) and a kept VM's folder, whose owner is gone too.
        string running = Directory.CreateDirectory(Path.Combine(_root, "running")).FullName;
        OwnerMarker.Write(running);
        string kept = Directory.CreateDirectory(Path.Combine(_root, "kept")).FullName;
        File.WriteAllText(Path.Combine(kept, OwnerMarker.FileName), OwnerMarker.Format(gone.Id, 1));
        KeptVms.Record(new QemuDetachedMachine(gone.Id, kept, null, Path.Combine(kept, "q.sock"), null), "Ns.Kept", null);

        string created = KeptVms.CreateDirectory("Ns.Class", _root);

        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(running));
        Assert.Equal(kept, Assert.Single(KeptVms.List(_root)).Directory);
        Assert.False(File.Exists(Path.Combine(kept, OwnerMarker.FileName)));
        Assert.StartsWith(Path.Combine(_root, "Ns.Class-"), created, StringComparison.Ordinal);
        Assert.Equal(
            OwnerMarker.Format(Environment.ProcessId, ProcessStat.Read(Environment.ProcessId)!.Value.StartTime),
            File.ReadAllText(Path.Combine(created, OwnerMarker.FileName)));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
