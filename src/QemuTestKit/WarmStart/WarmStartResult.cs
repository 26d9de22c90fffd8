namespace QemuTestKit;

/// <summary>A machine that <c>WarmStartCache.LaunchAsync</c> brought to ready, and how it got there.</summary>
/// <param name="Machine">The running machine; the caller owns it (shut it down or dispose it).</param>
/// <param name="Mode">Booted cold, booted cold and saved, or restored.</param>
/// <param name="ReadyTime">From the start of the boot to ready (the ready pattern, or for a restore the console answering; a prestarted QEMU started earlier).</param>
public sealed record WarmStartResult(QemuMachine Machine, WarmStartMode Mode, TimeSpan ReadyTime)
{
    /// <summary>The cache key (a SHA-256, hex) of the profile's saved state; null when warm start was off.</summary>
    public string? Key { get; init; }

    /// <summary>The folder holding the saved state used or written (<c>state</c>, <c>metadata.json</c>, disk layers); null when none.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>
    /// True when the state keeps the guest's RAM in a file that restored machines map copy-on-write (restore time does
    /// not grow with RAM; restored machines share unchanged pages); false for a cold boot or a state whose RAM is
    /// streamed (the fallback: see <see cref="WarmStartOptions.MapMemory"/> and the progress line of the save).
    /// </summary>
    public bool MemoryMapped { get; init; }

    /// <summary>Why warm start was not used: off for the profile (a plain reason), or a restore that failed (a warning).</summary>
    public string? Detail { get; init; }

    /// <summary>For a restore, where its time went (QEMU started, QMP ready, state loaded, console answered); null otherwise.</summary>
    internal RestoreTimeline? Timeline { get; init; }

    /// <summary>Set when something went wrong and the kit fell back to a cold boot (for example a corrupt saved state); null otherwise.</summary>
    public string? Warning { get; init; }
}
