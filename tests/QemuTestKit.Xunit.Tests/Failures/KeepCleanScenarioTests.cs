using System.Diagnostics;
using System.Text.Json;
using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>
/// <c>QEMUTESTKIT_KEEP=clean</c> through <c>dotnet test</c>: a run with <c>failed</c> keeps its VM, the next run with
/// <c>clean</c> stops that QEMU (by its pid, after checking its start time), removes its folder, signals nothing else,
/// and says what it removed.
/// </summary>
public sealed class KeepCleanScenarioTests(ScenarioProject scenarios) : IDisposable
{
    // Short (socket paths are limited to 107 bytes) and private to this test class.
    private readonly string _keptRoot = Directory.CreateTempSubdirectory("qtkclean-").FullName;

    [Fact(Timeout = 900_000)]
    public async Task Clean_stops_the_vm_an_earlier_run_kept_removes_its_folder_and_leaves_other_processes_alone()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var failed = new Dictionary<string, string?> { ["QEMUTESTKIT_KEEP"] = "failed", ["QEMUTESTKIT_KEPT_DIR"] = _keptRoot };
        (ScenarioResult keeping, List<int> leftovers) = await scenarios.RunLeavingAsync(["KeptOnFailure"], failed, [], ct);
        using Process bystander = Process.Start("sleep", "600");
        try
        {
            Assert.True(keeping.ExitCode == 2, keeping.ToString());
            int pid = Assert.Single(leftovers);
            KeptVm kept = Assert.Single(KeptVms.List(_keptRoot));
            Assert.Equal(pid, kept.Pid);
            Assert.True(kept.IsRunning);
            Assert.True(File.Exists(Path.Combine(kept.Directory, KeptVms.MarkerFile)));

            // A kept folder whose recorded pid now names another process (same pid, another start time): clean removes
            // the folder and must not signal that process.
            string stale = Directory.CreateDirectory(Path.Combine(_keptRoot, "stale")).FullName;
            KeptVm reused = KeptVms.Record(new QemuDetachedMachine(bystander.Id, stale, null, Path.Combine(stale, "qmp.sock"), null), "Scenarios.Stale", null);
            await File.WriteAllTextAsync(Path.Combine(stale, KeptVms.MarkerFile), JsonSerializer.Serialize(reused with { StartTime = reused.StartTime + 1 }), ct);

            // RunAsync checks that no QEMU of the clean run is left; --output detailed shows a passing test's output,
            // where the boot log of the run's first VM says what the clean-up removed.
            var clean = new Dictionary<string, string?> { ["QEMUTESTKIT_KEEP"] = "clean", ["QEMUTESTKIT_KEPT_DIR"] = _keptRoot };
            ScenarioResult cleaning = await scenarios.RunAsync(["SameProfileFirst"], clean, ["--output", "detailed"], ct);

            Assert.True(cleaning.ExitCode == 0, cleaning.ToString());
            Assert.False(kept.IsRunning, $"the kept QEMU (pid {pid}) still runs after the clean run:\n{cleaning.Output}");
            Assert.False(IsLiveQemu(pid), $"pid {pid} is still a running QEMU");
            Assert.False(Directory.Exists(kept.Directory));
            Assert.False(Directory.Exists(stale));
            Assert.Empty(Directory.GetFileSystemEntries(_keptRoot));
            Assert.False(bystander.HasExited, "clean signalled a process that only reused a kept VM's pid");

            // dotnet test's output says what was removed.
            Assert.Contains(
                $"] stopped the VM Scenarios.KeptOnFailure kept at {kept.KeptAtUtc:u} (QEMU pid {pid}) and removed {kept.Directory} (QEMUTESTKIT_KEEP=clean)",
                cleaning.Output,
                StringComparison.Ordinal);
            Assert.Contains($"] removed {stale}, the folder of the VM Scenarios.Stale kept at", cleaning.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (KeptVm vm in KeptVms.List(_keptRoot).Where(vm => vm.Pid != bystander.Id))
            {
                await KeptVms.RemoveAsync(vm, CancellationToken.None);
            }

            bystander.Kill();
            await bystander.WaitForExitAsync(CancellationToken.None);
        }
    }

    public void Dispose() => Directory.Delete(_keptRoot, recursive: true);

    private static bool IsLiveQemu(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").StartsWith("qemu-system", StringComparison.Ordinal)
                && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
