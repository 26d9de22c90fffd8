namespace QemuTestKit;

/// <summary>
/// Prestarted QEMUs for the next restore of a saved state (<see cref="WarmStartOptions.PrestartNext"/>): QEMU's own
/// start-up (libraries, machine, firmware and kernel files, ~30–45 ms under TCG here) is a third of a restore, and
/// nothing in it depends on the caller, so after a restore or a save the next QEMU of that state is started at once,
/// with <c>-incoming defer</c>, and waits. The next restore of the same state, plan and machine settings takes it and is
/// only load + continue + answer.
/// </summary>
/// <remarks>
/// Bounded: at most one spare per state, in this process only. A spare is checked when taken: same state build (a state
/// rebuilt since is not the one its RAM file mapping shows), same binary and arguments, same machine settings (log
/// folders apart, which the taker gets), still running; otherwise it is killed and the restore starts its own QEMU.
/// Every spare is killed by its PID and its folders removed by <see cref="DisposeAllAsync"/>, which runs when the
/// process exits; if the process dies instead, the orphan guard kills QEMU and the next run sweeps its folder.
/// </remarks>
internal static class WarmStartSpares
{
    private static readonly TimeSpan s_exitCleanup = TimeSpan.FromSeconds(20);
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<string, Spare> s_spares = new(StringComparer.Ordinal);

    // States whose spare could not be handed over (the taker's log folder is on another file system): the next would fail too.
    private static readonly HashSet<string> s_refused = new(StringComparer.Ordinal);
    private static int s_hooked;

    /// <summary>The spares not taken yet (tests check the bound and the cleanup).</summary>
    public static int Count
    {
        get
        {
            lock (s_gate)
            {
                return s_spares.Count;
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="launch"/> in the background as the spare of <paramref name="stateDirectory"/>, unless the
    /// state has one. A launch that fails leaves no spare (and no process: <paramref name="launch"/> stops its machine).
    /// </summary>
    public static void Start(string stateDirectory, string buildId, QemuLaunchPlan plan, QemuMachineOptions settings, Func<Task<QemuMachine>> launch)
    {
        if (Interlocked.Exchange(ref s_hooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAllAsync().Wait(s_exitCleanup);
        }

        lock (s_gate)
        {
            if (!s_spares.ContainsKey(stateDirectory) && !s_refused.Contains(stateDirectory))
            {
                s_spares[stateDirectory] = new Spare(buildId, plan.Binary, [.. plan.Arguments], settings, LaunchQuietlyAsync(launch));
            }
        }
    }

    /// <summary>
    /// The spare of <paramref name="stateDirectory"/>, launched and waiting for its state, if it fits this restore (waits
    /// for a spare still starting: it started earlier than a new QEMU would); null otherwise (a spare that does not fit is killed).
    /// </summary>
    public static async Task<QemuMachine?> TakeAsync(string stateDirectory, string buildId, QemuLaunchPlan plan, QemuMachineOptions settings)
    {
        Spare? spare;
        lock (s_gate)
        {
            if (!s_spares.Remove(stateDirectory, out spare))
            {
                return null;
            }
        }

        QemuMachine? machine = await spare.Launching.ConfigureAwait(false);
        if (machine is null)
        {
            return null;
        }

        if (machine.IsRunning && spare.BuildId == buildId && spare.Binary == plan.Binary && spare.Arguments.SequenceEqual(plan.Arguments, StringComparer.Ordinal)
            && SameSettings(spare.Settings, settings))
        {
            return machine;
        }

        await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
        return null;
    }

    /// <summary>Starts no more spares for <paramref name="stateDirectory"/> in this process (its callers cannot take one).</summary>
    public static void Refuse(string stateDirectory)
    {
        lock (s_gate)
        {
            s_refused.Add(stateDirectory);
        }
    }

    /// <summary>The spare of <paramref name="stateDirectory"/> once launched, left in place; null when there is none or it failed to start (for tests).</summary>
    internal static async Task<QemuMachine?> PeekAsync(string stateDirectory)
    {
        Spare? spare;
        lock (s_gate)
        {
            spare = s_spares.GetValueOrDefault(stateDirectory);
        }

        return spare is null ? null : await spare.Launching.ConfigureAwait(false);
    }

    /// <summary>Kills every spare (by its PID) and removes its folders; spares started afterwards are kept until the next call.</summary>
    public static async Task DisposeAllAsync()
    {
        Spare[] all;
        lock (s_gate)
        {
            all = [.. s_spares.Values];
            s_spares.Clear();
        }

        foreach (Spare spare in all)
        {
            if (await spare.Launching.ConfigureAwait(false) is { } machine)
            {
                await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether two machines' settings make the same QEMU, log folders apart (a spare has none; the taker's are bound when taken).</summary>
    internal static bool SameSettings(QemuMachineOptions spare, QemuMachineOptions taker) =>
        spare.Args.SequenceEqual(taker.Args, StringComparer.Ordinal)
        && spare.HostFiles.SequenceEqual(taker.HostFiles, StringComparer.Ordinal)
        && spare.Wrapper.SequenceEqual(taker.Wrapper, StringComparer.Ordinal)
        && spare.Name == taker.Name
        && spare.BaseTempDir == taker.BaseTempDir
        && spare.SockDir == taker.SockDir
        && Equals(spare.MonitorAddress, taker.MonitorAddress)
        && spare.QmpTimer == taker.QmpTimer
        && spare.CommandTimeout == taker.CommandTimeout
        && ReferenceEquals(spare.Logger, taker.Logger)
        && ReferenceEquals(spare.Launcher, taker.Launcher)
        && Equals(spare.AmbientCancellation, taker.AmbientCancellation)
        && spare.Detachable == taker.Detachable
        && spare.GdbStub == taker.GdbStub
        && spare.Environment.Count == taker.Environment.Count
        && spare.Environment.All(e => taker.Environment.TryGetValue(e.Key, out string? value) && value == e.Value);

    private static async Task<QemuMachine?> LaunchQuietlyAsync(Func<Task<QemuMachine>> launch)
    {
        // Off the caller's path: the restore that starts a spare returns without waiting for it.
        await Task.Yield();
        try
        {
            return await launch().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A spare that cannot start is only a spare less: the next restore starts its own QEMU and reports any failure.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    private sealed record Spare(string BuildId, string Binary, string[] Arguments, QemuMachineOptions Settings, Task<QemuMachine?> Launching);
}
