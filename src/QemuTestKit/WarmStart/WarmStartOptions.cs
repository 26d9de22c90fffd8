using Microsoft.Extensions.Logging;

namespace QemuTestKit;

/// <summary>Settings of <c>WarmStartCache.LaunchAsync</c>; every one is optional.</summary>
public sealed record WarmStartOptions
{
    /// <summary>
    /// Where saved states live. Default: <c>QEMUTESTKIT_WARMSTART_DIR</c>, else <c>$XDG_CACHE_HOME/qemutestkit/warmstart</c>,
    /// else <c>~/.cache/qemutestkit/warmstart</c> (see <see cref="WarmStartCache.DefaultDirectory"/>).
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// Forces warm start on or off for this call; null follows the profile (<see cref="QemuProfile.WarmStart"/>) and the
    /// <c>QEMUTESTKIT_WARMSTART=0</c> switch.
    /// </summary>
    public bool? Enabled { get; init; }

    /// <summary>
    /// Keeps the guest's RAM in a file that restored machines map copy-on-write (default true), where QEMU (5.0+) and the
    /// profile allow it: a plain memory size and no memory backend of its own. False streams the whole RAM through the
    /// migration, as before; the two kinds of state have different keys.
    /// </summary>
    public bool MapMemory { get; init; } = true;

    /// <summary>How long to wait for another process or class that is building the same state before booting cold; default: twice the profile's boot timeout.</summary>
    public TimeSpan? LockTimeout { get; init; }

    /// <summary>How long a restored guest's console may take to answer before the restore counts as failed; default 30 s.</summary>
    public TimeSpan RestoreTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After a restore or a save, prepares the next restore of the same state at once: starts its QEMU
    /// (<c>-incoming defer</c>), loads the state, proves the guest answers (the framed no-op every restore runs) and pauses
    /// it. The next restore in this process takes it and only continues it: a few milliseconds instead of ~100 under TCG
    /// (QEMU's start-up, the load, and the guest's first command after a load, which TCG translates anew in each QEMU).
    /// The guest stands paused from its proof until taken, so it is handed over as a restore would give it. At most one
    /// such spare per state; it costs a paused QEMU (measured for <c>tiny</c>: see the README's warm start section) until
    /// it is taken or the process exits, when it is killed. Default false; the xunit package turns it on, since the next
    /// class of a profile restores the same state.
    /// </summary>
    public bool PrestartNext { get; init; }

    /// <summary>Called right after QEMU started and QMP connected, before waiting for ready (for example to keep the QMP transcript).</summary>
    public Action<QemuMachine>? Launched { get; init; }

    /// <summary>Receives one line per step (saved, restored, fell back to a cold boot and why), for progress output.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>Receives the same messages as <see cref="Progress"/>; warnings at warning level.</summary>
    public ILogger? Logger { get; init; }
}
