using System.Diagnostics;

namespace QemuTestKit;

/// <summary>
/// Where a restore's time went, from the launch call: each step's end in milliseconds, in order (for the benchmark's
/// per-step breakdown and the restore's progress line). One instance per restore; not thread-safe (the steps are sequential).
/// </summary>
/// <remarks>
/// A restore that takes a prepared spare (<see cref="WarmStartOptions.PrestartNext"/>) copies the spare's steps, which
/// lie before the launch call (negative), and adds <see cref="HandedOver"/> and <see cref="Resumed"/>.
/// </remarks>
internal sealed class RestoreTimeline
{
    /// <summary>QEMU was started (the launcher returned its process).</summary>
    public const string QemuStarted = "qemu_started";

    /// <summary>QMP was negotiated and the console connected: QEMU is up and waits for the state.</summary>
    public const string QmpReady = "qmp_ready";

    /// <summary>The state was loaded (MIGRATION completed).</summary>
    public const string StateLoaded = "state_loaded";

    /// <summary>QEMU answered <c>cont</c>: the guest runs.</summary>
    public const string Running = "running";

    /// <summary>The guest's shell answered the no-op that proves the restore (and its agent, if it has one).</summary>
    public const string Answered = "answered";

    /// <summary>A prepared spare: QEMU answered <c>stop</c>, the guest waits paused for the restore that takes it.</summary>
    public const string Paused = "paused";

    /// <summary>A prepared spare: taken, its log files moved to the taker's folders.</summary>
    public const string HandedOver = "handed_over";

    /// <summary>A prepared spare: QEMU answered <c>cont</c>, the guest runs on from where its no-op left it.</summary>
    public const string Resumed = "resumed";

    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<KeyValuePair<string, long>> _stamps = [];

    /// <summary>Whether the restore took a prestarted QEMU (then its earlier steps lie before the launch call: negative).</summary>
    public bool Prestarted { get; set; }

    /// <summary>The steps reached so far, in order: name and milliseconds from the launch call.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Steps =>
        [.. _stamps.Select(s => new KeyValuePair<string, double>(s.Key, Stopwatch.GetElapsedTime(_start, s.Value).TotalMilliseconds))];

    /// <summary>Records that <paramref name="step"/> ended now.</summary>
    public void Mark(string step) => Mark(step, Stopwatch.GetTimestamp());

    /// <summary>Records that <paramref name="step"/> ended at <paramref name="timestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> taken elsewhere).</summary>
    public void Mark(string step, long timestamp) => _stamps.Add(new(step, timestamp));

    /// <summary>Records the steps of <paramref name="earlier"/> (a spare's preparation) at the times they happened.</summary>
    public void Include(RestoreTimeline earlier) => _stamps.AddRange(earlier._stamps);

    /// <summary>From the launch call to now.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_start);
}
