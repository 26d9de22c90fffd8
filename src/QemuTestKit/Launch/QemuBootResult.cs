namespace QemuTestKit;

/// <summary>A VM that <see cref="QemuBoot"/> brought to ready: the machine, the plan it runs, and how it started.</summary>
/// <param name="Plan">The launch plan the machine runs (binary, accelerator, runner, arguments, host files).</param>
/// <param name="Start">How it started: cold, saved or restored (warm start), with the warm-start key, detail and warning.</param>
public sealed record QemuBootResult(QemuLaunchPlan Plan, WarmStartResult Start)
{
    /// <summary>The running machine, at the profile's prompt (or ready pattern); the caller owns it.</summary>
    public QemuMachine Machine => Start.Machine;

    /// <summary>Booted cold, booted and saved for later machines, or restored from the saved state.</summary>
    public WarmStartMode StartMode => Start.Mode;

    /// <summary>From the start of QEMU to ready (the ready pattern, or for a restore the console answering).</summary>
    public TimeSpan BootTime => Start.ReadyTime;
}
