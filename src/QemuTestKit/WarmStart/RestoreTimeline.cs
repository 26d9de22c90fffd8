using System.Diagnostics;

namespace QemuTestKit;

/// <summary>
/// Where a restore's time went, from the launch call: each step's end in milliseconds, in order (for the benchmark's
/// per-step breakdown and the restore's progress line). One instance per restore; not thread-safe (the steps are sequential).
/// </summary>
internal sealed class RestoreTimeline
{
    /// <summary>QEMU was started (the launcher returned its process); before the launch call for a prestarted QEMU.</summary>
    public const string QemuStarted = "qemu_started";

    /// <summary>QMP was negotiated and the console connected (a prestarted QEMU: handed over): QEMU is up and waits for the state.</summary>
    public const string QmpReady = "qmp_ready";

    /// <summary>The state was loaded (MIGRATION completed).</summary>
    public const string StateLoaded = "state_loaded";

    /// <summary>QEMU answered <c>cont</c>: the guest runs.</summary>
    public const string Running = "running";

    /// <summary>The guest's shell answered the no-op that proves the restore.</summary>
    public const string Answered = "answered";

    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<KeyValuePair<string, double>> _steps = [];

    /// <summary>Whether the restore took a prestarted QEMU (then <see cref="QemuStarted"/> lies before the launch call: negative).</summary>
    public bool Prestarted { get; set; }

    /// <summary>The steps reached so far, in order: name and milliseconds from the launch call.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Steps => _steps;

    /// <summary>Records that <paramref name="step"/> ended now.</summary>
    public void Mark(string step) => Mark(step, Stopwatch.GetTimestamp());

    /// <summary>Records that <paramref name="step"/> ended at <paramref name="timestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> taken elsewhere).</summary>
    public void Mark(string step, long timestamp) => _steps.Add(new(step, Stopwatch.GetElapsedTime(_start, timestamp).TotalMilliseconds));

    /// <summary>From the launch call to now.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_start);
}
