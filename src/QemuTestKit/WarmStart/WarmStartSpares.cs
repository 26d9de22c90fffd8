using System.Globalization;
using System.Reflection;

namespace QemuTestKit;

/// <summary>
/// Prepared QEMUs for the next restore of a saved state (<see cref="WarmStartOptions.PrestartNext"/>). A restore is QEMU's
/// start-up (libraries, machine, firmware and kernel files, ~30–45 ms under TCG here), the load, and the guest's first
/// command after it (~50–60 ms: TCG translates the guest's wake-up path again in every new QEMU). None of it depends on
/// the caller, so after a restore or a save the next QEMU of that state is started at once with <c>-incoming defer</c>,
/// loads the state, proves the guest answers as a restore does, and is paused (<c>stop</c>). The next restore of the same
/// state, plan and machine settings takes it: moves its log files, continues it, and is done.
/// </summary>
/// <remarks>
/// <para>
/// What the taker gets is what a restore gives: the saved guest after one framed no-op, and not a moment more of guest
/// time, since the guest is paused from its proof until it is taken (its clocks stand still meanwhile).
/// </para>
/// <para>
/// Bounded: at most one spare per state, in this process only. A spare is checked when taken: same state build (a state
/// rebuilt since is not the one its RAM file mapping shows), same binary and arguments, same machine settings (log
/// folders apart, which the taker gets), still running; otherwise it is killed and the restore starts its own QEMU. A
/// spare whose preparation fails is killed and forgotten: the next restore starts its own QEMU and reports any failure.
/// Every spare is killed by its PID and its folders removed by <see cref="DisposeAllAsync"/>, which runs when the
/// process exits; if the process dies instead, the orphan guard kills QEMU and the next run sweeps its folder.
/// </para>
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
    /// Starts <paramref name="prepare"/> in the background as the spare of <paramref name="stateDirectory"/>, unless the
    /// state has one. A preparation that fails leaves no spare (and no process: <paramref name="prepare"/> stops its
    /// machine); its token is cancelled when the spare is disposed before it is ready.
    /// </summary>
    public static void Start(string stateDirectory, string buildId, QemuLaunchPlan plan, QemuMachineOptions settings, Func<CancellationToken, Task<PreparedSpare>> prepare)
    {
        if (Interlocked.Exchange(ref s_hooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAllAsync().Wait(s_exitCleanup);
        }

        lock (s_gate)
        {
            if (!s_spares.ContainsKey(stateDirectory) && !s_refused.Contains(stateDirectory))
            {
                var stop = new CancellationTokenSource();
                s_spares[stateDirectory] = new Spare(buildId, plan.Binary, [.. plan.Arguments], settings, stop, PrepareQuietlyAsync(prepare, stop.Token));
            }
        }
    }

    /// <summary>
    /// The spare of <paramref name="stateDirectory"/>, prepared and paused, if it fits this restore. A spare still
    /// preparing is waited for up to <paramref name="wait"/> (it started earlier than a new QEMU would); one not ready by
    /// then (a frozen or overloaded QEMU) is stopped. Without a spare: null, and why a spare there was is not used (it was
    /// not ready, its preparation failed, it does not fit: then it is killed), or null when there was none.
    /// </summary>
    public static async Task<(PreparedSpare? Spare, string? NotUsed)> TakeAsync(string stateDirectory, string buildId, QemuLaunchPlan plan, QemuMachineOptions settings, TimeSpan wait)
    {
        Spare? spare;
        lock (s_gate)
        {
            if (!s_spares.Remove(stateDirectory, out spare))
            {
                return (null, null);
            }
        }

        string? late = null;
        try
        {
            await spare.Preparing.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Its preparation kills its QEMU when cancelled, at once: each of its steps takes this token.
            late = string.Create(CultureInfo.InvariantCulture, $"it was not ready within {wait.TotalSeconds:0.###} s");
            await spare.Stop.CancelAsync().ConfigureAwait(false);
        }

        PreparedSpare? prepared = await spare.Preparing.ConfigureAwait(false);
        spare.Stop.Dispose();
        if (prepared is null)
        {
            return (null, late ?? "its preparation failed");
        }

        QemuMachine machine = prepared.Machine;
        if (late is null && machine.IsRunning && spare.BuildId == buildId && spare.Binary == plan.Binary && spare.Arguments.SequenceEqual(plan.Arguments, StringComparer.Ordinal)
            && SameSettings(spare.Settings, settings))
        {
            return (prepared, null);
        }

        string notUsed = late ?? (machine.IsRunning ? "it does not fit this restore (another state build, arguments or settings)" : "its QEMU had exited");
        await ProfileBoot.StopQuietlyAsync(machine).ConfigureAwait(false);
        return (null, notUsed);
    }

    /// <summary>Starts no more spares for <paramref name="stateDirectory"/> in this process (its callers cannot take one).</summary>
    public static void Refuse(string stateDirectory)
    {
        lock (s_gate)
        {
            s_refused.Add(stateDirectory);
        }
    }

    /// <summary>The spare of <paramref name="stateDirectory"/> once prepared, left in place; null when there is none or its preparation failed (for tests and the benchmark).</summary>
    internal static async Task<QemuMachine?> PeekAsync(string stateDirectory)
    {
        Spare? spare;
        lock (s_gate)
        {
            spare = s_spares.GetValueOrDefault(stateDirectory);
        }

        return spare is null ? null : (await spare.Preparing.ConfigureAwait(false))?.Machine;
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
            // A spare still preparing stops at once (its preparation kills its QEMU) instead of finishing first.
            await spare.Stop.CancelAsync().ConfigureAwait(false);
        }

        foreach (Spare spare in all)
        {
            if (await spare.Preparing.ConfigureAwait(false) is { } prepared)
            {
                await ProfileBoot.StopQuietlyAsync(prepared.Machine).ConfigureAwait(false);
            }

            spare.Stop.Dispose();
        }
    }

    // Every setting but the log folders, found once by reflection: an option added to QemuMachineOptions is compared
    // without anyone remembering to add it here (the test sets each one in turn).
    private static readonly PropertyInfo[] s_compared = [.. typeof(QemuMachineOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.Name is not (nameof(QemuMachineOptions.LogDir) or nameof(QemuMachineOptions.ConsoleLogPath)))];

    /// <summary>
    /// Whether two machines' settings make the same QEMU, log folders apart (a spare has none; the taker's are bound when
    /// taken): lists element by element, the environment as a set of pairs, everything else by <see cref="object.Equals(object, object)"/>
    /// (a logger, a launcher or a delegate: the same instance).
    /// </summary>
    internal static bool SameSettings(QemuMachineOptions spare, QemuMachineOptions taker) =>
        s_compared.All(p => SameValue(p.GetValue(spare), p.GetValue(taker)));

    private static bool SameValue(object? a, object? b) => (a, b) switch
    {
        (IReadOnlyDictionary<string, string?> x, IReadOnlyDictionary<string, string?> y) =>
            x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out string? value) && value == e.Value),
        (IReadOnlyList<string> x, IReadOnlyList<string> y) => x.SequenceEqual(y, StringComparer.Ordinal),
        _ => Equals(a, b),
    };

    private static async Task<PreparedSpare?> PrepareQuietlyAsync(Func<CancellationToken, Task<PreparedSpare>> prepare, CancellationToken cancellationToken)
    {
        // Off the caller's path: the restore that starts a spare returns without waiting for it.
        await Task.Yield();
        try
        {
            return await prepare(cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A spare that cannot be prepared is only a spare less: the next restore starts its own QEMU and reports any failure.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    private sealed record Spare(string BuildId, string Binary, string[] Arguments, QemuMachineOptions Settings, CancellationTokenSource Stop, Task<PreparedSpare?> Preparing);
}

/// <summary>A spare QEMU with the state loaded, its guest proven to answer and then paused; <paramref name="Steps"/> timed its preparation.</summary>
internal sealed record PreparedSpare(QemuMachine Machine, RestoreTimeline Steps);
