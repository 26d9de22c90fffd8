using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

// Keeping a VM after its class (QEMUTESTKIT_KEEP): started detachable with its sockets in a folder under KeptVms.Root,
// then detached instead of shut down, and announced with everything needed to reach and stop it.
public sealed partial class QemuVm
{
    private VmKeep _keep;
    private string? _keptDirectory;
    private string? _keepRefused;
    private bool _anyTestFailed;

    /// <summary>
    /// Decides the keep setting before a boot (an invalid value fails the boot, with the values to use). A VM in a
    /// container is never kept: the setting is refused with the reason, and the VM is started like any other (not
    /// detachable, no kept folder), so nothing is half kept.
    /// </summary>
    private async Task PrepareKeepAsync(QemuLaunchPlan plan, CancellationToken cancellationToken)
    {
        _anyTestFailed = false;
        _keep = await KeepSetting.ResolveAsync(_testAssembly!, Progress, cancellationToken).ConfigureAwait(false);
        _keepRefused = _keep != VmKeep.Never && plan.Runner == QemuRunner.Container ? KeepSetting.RefusedInContainer(_keep, plan.Profile.Name) : null;
        _keptDirectory = _keep == VmKeep.Never || _keepRefused is not null ? null : KeptVms.CreateDirectory(VmArtifacts.MachineName);
    }

    /// <summary>
    /// The machine options a VM that may be kept needs: detachable (no parent-death signal; the watchdog guards it until
    /// it is kept), its sockets in its kept folder, which no cleanup of the kit removes.
    /// </summary>
    private QemuMachineOptions WithKeep(QemuMachineOptions options) =>
        _keptDirectory is null ? options : options with { Detachable = true, SockDir = _keptDirectory };

    /// <summary>After the boot: says in the boot log that (and how) the VM would be kept.</summary>
    private void AnnounceKeep()
    {
        if (_keepRefused is not null)
        {
            Progress(_keepRefused);
        }
        else if (Preview() is { } preview)
        {
            Progress(_keep == VmKeep.Always
                ? $"{KeepSetting.EnvironmentVariable}=always: this VM stays running after the class; {preview.Instructions()}"
                : $"{KeepSetting.EnvironmentVariable}=failed: if a test of this class fails, this VM stays running after the class; {preview.Instructions()}");
        }
    }

    /// <summary>A failed test: the VM will be kept, and the test's output says how to reach it (or why it is not kept).</summary>
    private void NoteFailureForKeep()
    {
        _anyTestFailed = true;
        if (_keepRefused is not null)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"QemuTestKit: {_keepRefused} Its console log, QEMU's log and the QMP transcript are in {ArtifactsDirectory}.");
        }
        else if (_keep != VmKeep.Never && Preview() is { } preview)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"QemuTestKit: this VM will be kept running after the class ({KeepSetting.EnvironmentVariable}={_keep.ToString().ToLowerInvariant()}); {preview.Instructions()}");
        }
    }

    /// <summary>What a kept VM will look like, while it still runs under the kit.</summary>
    private KeptVm? Preview() =>
        _keptDirectory is not null && _machine is { Pid: { } pid, ServedQmpPath: { } qmp } machine
            ? new KeptVm(_keptDirectory, pid, 0, _className, machine.LaunchSpec?.ConsolePath, qmp, machine.GdbSocketPath, ArtifactsDirectory, DateTime.UtcNow)
            : null;

    /// <summary>Detaches the VM instead of shutting it down when the keep setting asks; true when it was kept.</summary>
    private async Task<bool> TryKeepAsync()
    {
        if (_keep == VmKeep.Never || (_keep == VmKeep.Failed && !_anyTestFailed) || _keptDirectory is null || _machine is not { IsRunning: true } machine)
        {
            return false;
        }

        try
        {
            QemuDetachedMachine detached = await machine.DetachAsync().ConfigureAwait(false);
            KeptVm kept = KeptVms.Record(detached, _className, ArtifactsDirectory);
            _keptDirectory = null; // the kept VM's now, not ours to remove
            string text = "QemuTestKit: " + kept.Instructions();
            Progress(text);
            _artifacts?.Write("kept-vm.txt", kept.Instructions() + "\n");

            // Also on the test host's standard error: the class is over, no test output is left to write to.
            await System.Console.Error.WriteLineAsync(text).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is QemuMachineException or IOException)
        {
            Progress($"could not keep the VM ({VmBootLog.FirstLine(ex.Message)}); shutting it down");
            return false;
        }
    }

    /// <summary>Removes the folder of a VM that was not kept.</summary>
    private void DropKeptDirectory()
    {
        string? directory = _keptDirectory;
        _keptDirectory = null;
        try
        {
            if (directory is not null && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Progress($"could not remove {directory}: {ex.Message}");
        }
    }
}
