using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// The cold boot of a plan: create the machine, launch it, point its console at the profile's prompt and failure
/// patterns, wait for the ready pattern and then the first prompt. Warm start calls it for every cold boot and uses
/// <see cref="CreateAsync"/> and <see cref="LaunchAsync"/> for a restore; it never builds a machine itself.
/// </summary>
internal sealed class ProfileBoot(QemuLaunchPlan plan, QemuBootOptions options)
{
    public QemuLaunchPlan Plan => plan;

    public QemuProfile Profile => plan.Profile;

    /// <summary>Creates the machine of the plan, or of the plan <paramref name="layers"/> derives once the machine exists.</summary>
    public async Task<QemuMachine> CreateAsync(Func<QemuMachine, CancellationToken, Task<QemuLaunchPlan>>? layers, CancellationToken cancellationToken)
    {
        QemuMachineOptions machineOptions = MachineOptions();
        QemuMachine machine = layers is null
            ? QemuProfileMachine.Create(plan, machineOptions, options.ContainerLauncher)
            : await QemuProfileMachine.CreateAsync(plan, machineOptions, options.ContainerLauncher, layers, cancellationToken).ConfigureAwait(false);
        options.MachineCreated?.Invoke(machine);
        return machine;
    }

    /// <summary>
    /// This boot for a machine nobody has asked for yet (a warm-start spare): no callbacks and no log folders; the caller
    /// that takes it gets its own through <see cref="Adopt"/>.
    /// </summary>
    public ProfileBoot ForSpare() => new(plan, options with
    {
        MachineCreated = null,
        Launched = null,
        Progress = null,
        ArtifactsDirectory = null,
        Machine = (options.Machine ?? new QemuMachineOptions()) with { LogDir = null, ConsoleLogPath = null },
    });

    /// <summary>The settings a machine of this boot is created with.</summary>
    public QemuMachineOptions MachineSettings => MachineOptions();

    /// <summary>Hands a prepared spare to this boot's caller: its log folder and console log, then the calls a launch makes.</summary>
    /// <exception cref="IOException">QEMU's output file or the console log cannot move into the caller's folders.</exception>
    public void Adopt(QemuMachine machine)
    {
        QemuMachineOptions mine = MachineOptions();
        machine.Adopt(mine.LogDir, mine.ConsoleLogPath);
        options.MachineCreated?.Invoke(machine);
        options.Launched?.Invoke(machine);
    }

    /// <summary>Launches (QMP negotiated) and reports it; the caller stops the machine if this throws.</summary>
    public async Task LaunchAsync(QemuMachine machine, CancellationToken cancellationToken)
    {
        await machine.LaunchAsync(cancellationToken).ConfigureAwait(false);
        options.Launched?.Invoke(machine);
        if (machine.GdbSocketPath is { } gdb)
        {
            options.Progress?.Invoke($"gdb stub: gdb -ex 'target remote {gdb}'");
        }
    }

    /// <summary>
    /// A QEMU started halted for a debugger: waits, without the boot timeout, until the debugger (or QMP <c>cont</c>)
    /// lets the CPUs run; the boot timeout starts after that.
    /// </summary>
    private async Task WaitForDebuggerAsync(QemuMachine machine, CancellationToken cancellationToken)
    {
        options.Progress?.Invoke(
            $"QEMU is halted at the first instruction for gdb; the boot waits (no boot timeout) until it continues: gdb -ex 'target remote {machine.GdbSocketPath}' (then 'continue' or 'detach')");
        await machine.Qmp.WaitForEventAsync("RESUME", timeout: null, cancellationToken: cancellationToken).ConfigureAwait(false);
        options.Progress?.Invoke("the debugger let the CPUs run; booting");
    }

    /// <summary>
    /// Boots cold to the ready pattern and then the shell prompt, if the profile has one: every machine is handed over
    /// at a clean prompt, restored or not, so the first command a test sends is not mixed with the shell's banner.
    /// </summary>
    /// <returns>The running machine and the time from creating it to ready.</returns>
    public async Task<(QemuMachine Machine, TimeSpan Ready)> ColdAsync(
        Func<QemuMachine, CancellationToken, Task<QemuLaunchPlan>>? layers, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        QemuMachine machine = await CreateAsync(layers, cancellationToken).ConfigureAwait(false);
        try
        {
            await LaunchAsync(machine, cancellationToken).ConfigureAwait(false);
            if (machine.HaltedForDebugger)
            {
                await WaitForDebuggerAsync(machine, cancellationToken).ConfigureAwait(false);
                started.Restart();
            }

            if (Profile.Console is not null)
            {
                QemuProfileMachine.ConfigureConsole(Profile, machine.Console);
            }

            if (Profile.ReadyPattern is not null)
            {
                await machine.Console.WaitForAsync(
                    new Regex(Profile.ReadyPattern, RegexOptions.CultureInvariant),
                    QemuProfileMachine.FailurePatterns(Profile),
                    Left(started),
                    cancellationToken).ConfigureAwait(false);
            }

            TimeSpan ready = started.Elapsed;
            if (Profile.Prompt is not null && Profile.Console is not null)
            {
                await WaitForShellAsync(machine, Left(started), cancellationToken).ConfigureAwait(false);
            }

            await WaitForGuestAgentAsync(machine, Left(started), cancellationToken).ConfigureAwait(false);
            return (machine, ready);
        }
        catch
        {
            await StopQuietlyAsync(machine).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Returns once the guest's shell has run a no-op command: framed by markers like every console command, so a prompt
    /// that is followed by a kernel message or a job notice (and so is not the last thing on screen) cannot be missed.
    /// </summary>
    public static Task WaitForShellAsync(QemuMachine machine, TimeSpan timeout, CancellationToken cancellationToken) =>
        machine.Console.ExecAsync(":", timeout, cancellationToken);

    /// <summary>
    /// With a guest agent channel, returns once the agent answers (connected, or resynchronised after a restore): part of
    /// the ready condition, so a test's first agent call does not race qemu-ga's start. Nothing to do without one.
    /// </summary>
    public static async Task WaitForGuestAgentAsync(QemuMachine machine, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (machine.HasGuestAgent)
        {
            await machine.ConnectGuestAgentAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Kills and disposes a machine whose boot failed, keeping the caller's exception the one that is seen.</summary>
    public static async Task StopQuietlyAsync(QemuMachine machine)
    {
        try
        {
            await machine.KillAsync(CancellationToken.None).ConfigureAwait(false);
            await machine.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is QemuMachineException or TimeoutException or IOException or InvalidOperationException)
        {
            // The caller's exception says what went wrong; this one would hide it.
        }
    }

    /// <summary>What is left of the profile's boot timeout; at least a moment, so an overrun still reads the console once.</summary>
    private TimeSpan Left(Stopwatch started)
    {
        TimeSpan left = Profile.BootTimeout - started.Elapsed;
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    private QemuMachineOptions MachineOptions()
    {
        QemuMachineOptions machine = options.Machine ?? new QemuMachineOptions();
        if (options.ArtifactsDirectory is { } artifacts)
        {
            machine = machine with
            {
                LogDir = machine.LogDir ?? artifacts,
                ConsoleLogPath = machine.ConsoleLogPath ?? (Profile.Console is null ? null : Path.Combine(artifacts, QemuBootOptions.ConsoleLogName)),
            };
        }

        return options.Logger is { } logger && machine.Logger is null ? machine with { Logger = logger } : machine;
    }
}
