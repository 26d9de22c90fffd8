using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Qmp;

namespace QemuTestKit;

/// <summary>
/// One boot wrapped by warm start: decide cold, save or restore, and carry it out. Every machine comes from the
/// <see cref="ProfileBoot"/> it wraps; warm start only derives a plan with disk layers and the RAM file
/// (<see cref="WarmStartMemory"/>) and adds <c>-incoming</c>.
/// </summary>
internal sealed class WarmStartLauncher(
    ProfileBoot boot,
    WarmStartOptions options,
    ILogger? logger,
    Action<string>? progress,
    ConcurrentDictionary<string, string> broken)
{
    private static readonly TimeSpan s_saveTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan s_deleteLockTimeout = TimeSpan.FromSeconds(30);

    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly QemuProfile profile = boot.Profile;

    /// <summary>Which disks a machine gets: the profile's as they are, layers over the images, or layers over a saved state.</summary>
    private enum Disks
    {
        AsProfile,
        OverImages,
        OverState,
    }

    public async Task<WarmStartResult> RunAsync(CancellationToken cancellationToken)
    {
        // A debugger wants to see this boot (and a restore would skip where it halts): gdb means a cold boot.
        string? gdb = boot.Plan.GdbStub == QemuGdbStub.Off ? null : "the gdb stub is on (a debugger sees a cold boot)";
        if ((gdb ?? WarmStartCache.DisabledReason(profile, options.Enabled)) is { } off)
        {
            (QemuMachine machine, TimeSpan ready) = await boot.ColdAsync(null, cancellationToken).ConfigureAwait(false);
            return new WarmStartResult(machine, WarmStartMode.Cold, ready) { Detail = off };
        }

        WarmStartKey key = await WarmStartKey.ComputeAsync(boot.Plan, options.MapMemory, cancellationToken).ConfigureAwait(false);
        var state = new WarmStartState(options.CacheDirectory ?? WarmStartCache.DefaultDirectory, key.Hash);
        state.CreateCacheDirectory();

        if (broken.TryGetValue(state.Directory, out string? earlier))
        {
            (QemuMachine machine, TimeSpan ready) = await boot.ColdAsync(null, cancellationToken).ConfigureAwait(false);
            return new WarmStartResult(machine, WarmStartMode.Cold, ready)
            {
                Key = key.Hash,
                Detail = $"the saved state of '{profile.Name}' failed to restore earlier in this process ({earlier}); booting cold until the next run",
            };
        }

        string? buildId = state.ReadBuildId();
        if (buildId is null)
        {
            TimeSpan lockTimeout = options.LockTimeout ?? (profile.BootTimeout * 2);
            using (WarmStartLock? held = await WarmStartLock.AcquireAsync(state.LockPath, lockTimeout, cancellationToken).ConfigureAwait(false))
            {
                if (held is null)
                {
                    string warning = $"gave up after {Seconds(lockTimeout)} waiting for another class or process to save the state of '{profile.Name}' ({state.LockPath}); booting cold";
                    Warn(warning);
                    (QemuMachine machine, TimeSpan ready) = await boot.ColdAsync(null, cancellationToken).ConfigureAwait(false);
                    return new WarmStartResult(machine, WarmStartMode.Cold, ready) { Key = key.Hash, Warning = warning };
                }

                buildId = state.ReadBuildId();
                if (buildId is null)
                {
                    return await BootAndSaveAsync(state, key, cancellationToken).ConfigureAwait(false);
                }
            }

            Step($"another class or process saved the state of '{profile.Name}' while this one waited");
        }

        (WarmStartResult? restored, string? failure, bool corrupt) = await TryRestoreAsync(state, key, buildId, cancellationToken).ConfigureAwait(false);
        if (restored is not null)
        {
            StartSpare(state, key, buildId);
            return restored;
        }

        // Not tried again in this process either way; only a state QEMU rejected is deleted for everyone. A restore that
        // merely ran out of time (a loaded host) proves nothing against a state other classes and processes share.
        broken[state.Directory] = failure!;
        string restoreWarning;
        if (corrupt)
        {
            restoreWarning = $"restoring '{profile.Name}' from {state.Directory} failed, so the state was deleted and the VM booted cold: {failure}";
            await DeleteStateAsync(state, buildId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            restoreWarning = $"restoring '{profile.Name}' from {state.Directory} timed out, so the VM booted cold; the state is kept (a timeout does not prove it corrupt): {failure}";
        }

        Warn(restoreWarning);
        (QemuMachine coldMachine, TimeSpan coldReady) = await boot.ColdAsync(null, cancellationToken).ConfigureAwait(false);
        return new WarmStartResult(coldMachine, WarmStartMode.Cold, coldReady) { Key = key.Hash, Warning = restoreWarning };
    }

    /// <summary>Boots cold to ready; with a state to save, also to the shell prompt, then saves and continues.</summary>
    private async Task<WarmStartResult> BootAndSaveAsync(WarmStartState state, WarmStartKey key, CancellationToken cancellationToken)
    {
        // Saved at the prompt, so that a restored guest is at the prompt too and a newline proves it answers.
        (QemuMachine machine, TimeSpan ready) = await boot.ColdAsync(Derive(Disks.OverImages, null, key.Memory), cancellationToken).ConfigureAwait(false);
        string? buildDirectory = null;
        try
        {
            var saving = Stopwatch.StartNew();
            buildDirectory = state.CreateBuildDirectory();
            string statePath = Path.Combine(buildDirectory, WarmStartState.StateFile);
            string? warning = null;
            try
            {
                // QEMU's "cat > state" truncates this file and keeps its mode: private from the first byte.
                WarmStartState.CreatePrivateFile(statePath);
                await WarmStartMigration.SaveAsync(machine.Qmp, statePath, key.Memory.Mapped, s_saveTimeout, cancellationToken).ConfigureAwait(false);
                for (int i = 0; i < profile.Drives.Count; i++)
                {
                    if (WarmStartDisks.NeedsLayer(profile.Drives[i]))
                    {
                        // The guest is paused and QEMU flushed its disks: this layer matches the saved RAM exactly.
                        WarmStartState.CopyPrivate(Path.Combine(machine.TempDir, WarmStartState.DiskName(i)), Path.Combine(buildDirectory, WarmStartState.DiskName(i)));
                    }
                }

                // Still paused: the saving VM maps its RAM file shared and writes it again as soon as it continues, so the
                // state gets a copy taken now, which matches the device state just saved.
                long ramBytes = key.Memory.Mapped
                    ? WarmStartSparseCopy.Copy(Path.Combine(machine.TempDir, WarmStartState.RamFile), Path.Combine(buildDirectory, WarmStartState.RamFile))
                    : 0;
                long bytes = new FileInfo(statePath).Length;
                WarmStartState.WriteMetadata(buildDirectory, key, Guid.NewGuid().ToString("N"), bytes, ramBytes, saving.Elapsed);
                state.Publish(buildDirectory);
                buildDirectory = null;
                if (state.ReadBuildId() is { } published)
                {
                    StartSpare(state, key, published);
                }

                string memory = key.Memory.Mapped
                    ? $"device state {Megabytes(bytes)}, RAM file {Megabytes(ramBytes)} written, mapped by each restore"
                    : $"{Megabytes(bytes)}, RAM streamed: {key.Memory.StreamReason}";
                Step($"saved the state of '{profile.Name}' ({memory}) in {Seconds(saving.Elapsed)} to {state.Directory}");
            }
            catch (Exception ex) when (ex is QemuMachineException or QmpCommandException or TimeoutException or IOException or UnauthorizedAccessException)
            {
                warning = $"saving the state of '{profile.Name}' failed; this VM runs on cold and the next one boots cold too: {ex.Message}";
                Warn(warning);
            }
            finally
            {
                // Whatever happened to the save, the guest was paused for it.
                await WarmStartMigration.ContinueAsync(machine.Qmp, cancellationToken).ConfigureAwait(false);
            }

            return warning is null
                ? new WarmStartResult(machine, WarmStartMode.Saved, ready) { Key = key.Hash, StateDirectory = state.Directory, MemoryMapped = key.Memory.Mapped }
                : new WarmStartResult(machine, WarmStartMode.Cold, ready) { Key = key.Hash, Warning = warning };
        }
        catch
        {
            await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (buildDirectory is not null)
            {
                WarmStartState.DeleteQuietly(buildDirectory);
            }
        }
    }

    /// <summary>
    /// Restores a machine from the saved state. On failure returns why, and whether the failure proves the state corrupt:
    /// QEMU rejected it (the migration failed, QEMU exited while loading, a command failed). A timeout does not.
    /// </summary>
    private async Task<(WarmStartResult? Result, string? Failure, bool Corrupt)> TryRestoreAsync(WarmStartState state, WarmStartKey key, string buildId, CancellationToken cancellationToken)
    {
        if (key.Memory.Mapped && !File.Exists(state.RamPath))
        {
            // Published states are complete (an atomic rename): a mapped state without its RAM was damaged afterwards.
            return (null, $"the RAM file {state.RamPath} of the mapped state is missing", true);
        }

        var timeline = new RestoreTimeline();
        QemuMachine? machine = await TakeSpareAsync(state, buildId, timeline, cancellationToken).ConfigureAwait(false);
        timeline.Prestarted = machine is not null;
        try
        {
            if (machine is null)
            {
                machine = await boot.CreateAsync(Derive(Disks.OverState, state, key.Memory), cancellationToken).ConfigureAwait(false);
                machine.AddArgs(WarmStartMigration.IncomingArgs);
                await boot.LaunchAsync(machine, cancellationToken).ConfigureAwait(false);
                await ResumeAsync(machine, state, key, timeline, cancellationToken).ConfigureAwait(false);
            }

            TimeSpan ready = timeline.Elapsed;
            string how = (key.Memory.Mapped ? "RAM mapped copy-on-write" : "RAM streamed") + (timeline.Prestarted ? ", QEMU prestarted" : "");
            Step($"restored '{profile.Name}' from {state.Directory} ({how}); its console answered {Seconds(ready)} after the restore began");
            return (new WarmStartResult(machine, WarmStartMode.Restored, ready) { Key = key.Hash, StateDirectory = state.Directory, MemoryMapped = key.Memory.Mapped, Timeline = timeline }, null, false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is QemuMachineException or QmpConnectionException
            or QmpCommandException or QemuConsoleException or TimeoutException or IOException)
        {
            string output = "";
            if (machine is not null)
            {
                await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
                output = string.IsNullOrWhiteSpace(machine.Log) ? "" : $" (QEMU output: {machine.Log.Trim().ReplaceLineEndings(" | ")})";
            }

            return (null, $"{ex.GetType().Name}: {ex.Message}{output}", ex is not TimeoutException);
        }
        catch
        {
            if (machine is not null)
            {
                await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// Loads the state into <paramref name="machine"/> (launched with <c>-incoming defer</c>), lets the guest run, and
    /// returns once it answers: its shell ran a no-op and its agent, if it has one, answered.
    /// </summary>
    private async Task ResumeAsync(QemuMachine machine, WarmStartState state, WarmStartKey key, RestoreTimeline timeline, CancellationToken cancellationToken)
    {
        timeline.Mark(RestoreTimeline.QemuStarted, machine.ProcessStartedTimestamp);
        timeline.Mark(RestoreTimeline.QmpReady);
        await WarmStartMigration.LoadAsync(machine.Qmp, state.StatePath, key.Memory.Mapped, options.RestoreTimeout, cancellationToken).ConfigureAwait(false);
        timeline.Mark(RestoreTimeline.StateLoaded);

        // Only after the load: QEMU takes the run state the save recorded (paused), so a "cont" sent while it still
        // loads arms an autostart the loaded state then overrides (tried: the guest stayed paused when the load was slow).
        await WarmStartMigration.ContinueAsync(machine.Qmp, cancellationToken).ConfigureAwait(false);
        timeline.Mark(RestoreTimeline.Running);

        QemuProfileMachine.ConfigureConsole(profile, machine.Console);
        await ProfileBoot.WaitForShellAsync(machine, options.RestoreTimeout, cancellationToken).ConfigureAwait(false);
        await ProfileBoot.WaitForGuestAgentAsync(machine, options.RestoreTimeout, cancellationToken).ConfigureAwait(false);
        timeline.Mark(RestoreTimeline.Answered);
    }

    /// <summary>
    /// With <see cref="WarmStartOptions.PrestartNext"/>, prepares the next restore of this state now: a QEMU restored as
    /// <see cref="ResumeAsync"/> does, then paused until a restore takes it (see <see cref="WarmStartSpares"/>).
    /// </summary>
    private void StartSpare(WarmStartState state, WarmStartKey key, string buildId)
    {
        ProfileBoot spareBoot = boot.ForSpare();

        // Not for a machine whose sockets go to a folder its caller owns (a kept VM's): a spare's would land there too.
        if (!options.PrestartNext || spareBoot.MachineSettings is { Detachable: true } or { SockDir: not null })
        {
            return;
        }

        // Not the caller's token: the spare outlives this boot. Its own is cancelled when spares are disposed (at the latest when the process exits).
        WarmStartSpares.Start(state.Directory, buildId, boot.Plan, spareBoot.MachineSettings, async stop =>
        {
            var steps = new RestoreTimeline();
            QemuMachine machine = await spareBoot.CreateAsync(Derive(Disks.OverState, state, key.Memory), stop).ConfigureAwait(false);
            try
            {
                machine.AddArgs(WarmStartMigration.IncomingArgs);
                machine.LogConsoleUntilAdopted();
                await spareBoot.LaunchAsync(machine, stop).ConfigureAwait(false);

                // The whole restore, its no-op included: the guest's first command after a load is most of a restore's
                // time (TCG translates its wake-up path anew in each QEMU), and it is done here, off the taker's path.
                await ResumeAsync(machine, state, key, steps, stop).ConfigureAwait(false);

                // Paused from its proof until taken: the taker gets the guest as the no-op left it, no guest time later.
                await machine.Qmp.ExecuteAsync("stop", cancellationToken: stop).ConfigureAwait(false);
                steps.Mark(RestoreTimeline.Paused);
                return new PreparedSpare(machine, steps);
            }
            catch
            {
                await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
                throw;
            }
        });
    }

    /// <summary>
    /// The prepared spare of this state, if one fits: continued, then handed to this boot's caller (its log folders, its
    /// callbacks), its steps in <paramref name="timeline"/>. Null when there is none or it cannot be handed over (then it
    /// is killed, and the restore starts its own QEMU).
    /// </summary>
    private async Task<QemuMachine?> TakeSpareAsync(WarmStartState state, string buildId, RestoreTimeline timeline, CancellationToken cancellationToken)
    {
        if (!options.PrestartNext)
        {
            return null;
        }

        (PreparedSpare? spare, string? notUsed) = await WarmStartSpares.TakeAsync(state.Directory, buildId, boot.Plan, boot.ForSpare().MachineSettings, options.RestoreTimeout).ConfigureAwait(false);
        if (spare is null)
        {
            if (notUsed is not null)
            {
                Step($"the prepared QEMU of '{profile.Name}' was not used ({notUsed}); starting a new one");
            }

            return null;
        }

        QemuMachine machine = spare.Machine;

        // Bounded like the restore it replaces: a QEMU frozen since its preparation must not hold the caller for QMP's own timeout.
        using var handOver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        handOver.CancelAfter(options.RestoreTimeout);
        try
        {
            // What the preparation left in the queue (the load's MIGRATION events, RESUME, STOP) came before anyone had the machine.
            machine.Qmp.DequeueAllEvents();
            await WarmStartMigration.ContinueAsync(machine.Qmp, handOver.Token).ConfigureAwait(false);
            long resumed = Stopwatch.GetTimestamp();
            boot.Adopt(machine);
            timeline.Include(spare.Steps);
            timeline.Mark(RestoreTimeline.Resumed, resumed);
            timeline.Mark(RestoreTimeline.HandedOver);
            return machine;
        }
        catch (Exception ex) when (ex is IOException or QmpConnectionException or QmpCommandException or TimeoutException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (ex is IOException)
            {
                // The log folder is on another file system than the machine's temp folder: no spare of this state can be taken.
                WarmStartSpares.Refuse(state.Directory);
            }

            string why = ex is OperationCanceledException ? $"it did not continue within {Seconds(options.RestoreTimeout)}" : ex.Message;
            Step($"the prepared QEMU of '{profile.Name}' could not be handed over ({why}); starting a new one");
            await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
            return null;
        }
        catch
        {
            await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The plan of a saving or restoring machine: the RAM in a file when the state is mapped (the saving VM's own file in
    /// its temp folder, shared; a restored VM's view of the saved file, private), and each writable drive as a qcow2
    /// layer in the machine's temp folder (which it removes at shutdown) over the image or the saved disk. Null when
    /// neither applies: the plan as it is.
    /// </summary>
    private Func<QemuMachine, CancellationToken, Task<QemuLaunchPlan>>? Derive(Disks disks, WarmStartState? state, WarmStartMemory memory)
    {
        bool layered = disks != Disks.AsProfile && boot.Plan.Drives.Any(WarmStartDisks.NeedsLayer);
        if (!layered && !memory.Mapped)
        {
            return null;
        }

        return async (machine, cancellationToken) =>
        {
            QemuLaunchPlan plan = layered ? await LayersAsync(machine, disks, state, cancellationToken).ConfigureAwait(false) : boot.Plan;
            if (state is not null)
            {
                return memory.Apply(plan, state.RamPath, shared: false);
            }

            // Created private before QEMU opens it (QEMU would create it 0644): it is the guest's RAM.
            string ram = Path.Combine(machine.TempDir, WarmStartState.RamFile);
            if (memory.Mapped)
            {
                WarmStartState.CreatePrivateFile(ram);
            }

            return memory.Apply(plan, ram, shared: true);
        };
    }

    /// <summary>The plan with each writable drive replaced by a qcow2 layer over the image or the saved disk.</summary>
    private async Task<QemuLaunchPlan> LayersAsync(QemuMachine machine, Disks disks, WarmStartState? state, CancellationToken cancellationToken)
    {
        string binary = boot.Plan.Binary;
        var drives = new List<QemuDrive>(boot.Plan.Drives.Count);
        for (int i = 0; i < boot.Plan.Drives.Count; i++)
        {
            QemuDrive drive = boot.Plan.Drives[i];
            if (!WarmStartDisks.NeedsLayer(drive))
            {
                drives.Add(drive);
                continue;
            }

            string layer = Path.Combine(machine.TempDir, WarmStartState.DiskName(i));
            (string backing, string format) = disks == Disks.OverState
                ? (state!.DiskPath(i), "qcow2")
                : (drive.Path, await WarmStartDisks.FormatAsync(binary, drive, cancellationToken).ConfigureAwait(false));
            await WarmStartDisks.CreateOverlayAsync(binary, backing, format, layer, cancellationToken).ConfigureAwait(false);
            drives.Add(drive with { Path = layer, Format = "qcow2", Snapshot = false });
        }

        return boot.Plan with { Drives = drives };
    }

    private async Task DeleteStateAsync(WarmStartState state, string? buildId, CancellationToken cancellationToken)
    {
        using WarmStartLock? held = await WarmStartLock.AcquireAsync(state.LockPath, s_deleteLockTimeout, cancellationToken).ConfigureAwait(false);
        try
        {
            // Only the state that failed: another process may have replaced it meanwhile.
            if (held is not null && state.ReadBuildId() == buildId)
            {
                state.Delete();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Warn($"could not delete the failed state {state.Directory}: {ex.Message}");
        }
    }

    private void Step(string message)
    {
        WarmStartLog.Step(_logger, message);
        progress?.Invoke("warm start: " + message);
    }

    private void Warn(string message)
    {
        WarmStartLog.Warning(_logger, message);
        progress?.Invoke("warm start WARNING: " + message);
    }

    private static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.#", CultureInfo.InvariantCulture) + " MB";

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";
}
