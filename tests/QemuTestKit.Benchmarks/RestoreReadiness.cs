using System.Diagnostics;
using System.Text.Json.Nodes;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Part of the <c>warmstart</c> suite: how long a restore takes from QEMU start to QMP ready and to a console that
/// answers, for the stream restore and the mapped one, at 256 MB and 1 GB of guest RAM. Each of the four states is
/// saved once (not timed); then the four restores take turns, round after round, so noise hits them alike.
/// </summary>
internal static class RestoreReadiness
{
    private const int Rounds = 7;

    private static readonly (string Name, string Memory, bool Mapped)[] s_kinds =
    [
        ("stream_256M", "256M", false),
        ("mapped_256M", "256M", true),
        ("stream_1G", "1G", false),
        ("mapped_1G", "1G", true),
    ];

    public static async Task MeasureAsync(QemuProfile tiny, string cache, BenchmarkReport report, CancellationToken cancellationToken)
    {
        foreach ((string name, string memory, bool mapped) in s_kinds)
        {
            // Saves the state, or restores it when the suite saved it already (tiny has 256M).
            WarmStartResult saved = await LaunchAsync(tiny with { Memory = memory }, Options(cache, mapped, null), cancellationToken);
            RepositoryFiles.Require(saved.Mode != WarmStartMode.Cold && saved.MemoryMapped == mapped, "warmstart", $"{name}: expected a {(mapped ? "mapped" : "stream")} state, got {saved.Mode} (mapped: {saved.MemoryMapped}): {saved.Warning ?? saved.Detail}");
            JsonNode metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(saved.StateDirectory!, "metadata.json"), cancellationToken))!;
            report.Result($"state_{name}_stream_bytes", metadata["stateBytes"]!.GetValue<long>());
            report.Result($"state_{name}_save_s", metadata["saveSeconds"]!.GetValue<double>());
            await saved.Machine.ShutdownAsync(cancellationToken: cancellationToken);
        }

        var qmp = s_kinds.ToDictionary(k => k.Name, _ => new List<double>());
        var answer = s_kinds.ToDictionary(k => k.Name, _ => new List<double>());
        var steps = s_kinds.ToDictionary(k => k.Name, _ => new List<RestoreTimeline>());
        for (int round = 0; round < Rounds; round++)
        {
            foreach ((string name, string memory, bool mapped) in s_kinds)
            {
                (double qmpMs, double answerMs, RestoreTimeline timeline) = await RestoreAsync(tiny with { Memory = memory }, cache, mapped, cancellationToken);
                qmp[name].Add(qmpMs);
                answer[name].Add(answerMs);
                steps[name].Add(timeline);
                Console.Error.WriteLine($"warmstart: restore {name} round {round + 1}/{Rounds}: QMP ready {qmpMs:0} ms, console answered {answerMs:0} ms");
            }
        }

        var results = new JsonObject { ["rounds"] = Rounds };
        var medians = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach ((string name, _, _) in s_kinds)
        {
            (double qmpMedian, double qmpP99) = BenchmarkReport.Summarize(qmp[name]);
            (double answerMedian, double answerP99) = BenchmarkReport.Summarize(answer[name]);
            medians[name] = answerMedian;
            results[name] = new JsonObject
            {
                ["qmp_ready_median"] = Math.Round(qmpMedian, 1),
                ["qmp_ready_max"] = Math.Round(qmpP99, 1),
                ["console_answer_median"] = Math.Round(answerMedian, 1),
                ["console_answer_max"] = Math.Round(answerP99, 1),
                ["steps_median"] = StepMedians(steps[name]),
            };
        }

        report.Result("restore_ready_ms", results);
        report.Ratio("mapped_1G_over_mapped_256M_ready", medians["mapped_1G"] / medians["mapped_256M"]);
        report.Ratio("stream_1G_over_stream_256M_ready", medians["stream_1G"] / medians["stream_256M"]);
        report.Ratio("mapped_over_stream_ready_256M", medians["mapped_256M"] / medians["stream_256M"]);
        report.Ratio("mapped_over_stream_ready_1G", medians["mapped_1G"] / medians["stream_1G"]);
    }

    /// <summary>
    /// The median of each step of <paramref name="timelines"/> (milliseconds from the launch call to the step's end: QEMU
    /// started, QMP ready, state loaded with the guest running, the proof no-op answered), in the order of the steps.
    /// </summary>
    public static JsonObject StepMedians(IReadOnlyList<RestoreTimeline> timelines)
    {
        var medians = new JsonObject();
        foreach (string step in timelines.SelectMany(t => t.Steps).Select(s => s.Key).Distinct(StringComparer.Ordinal))
        {
            List<double> samples = [.. timelines.SelectMany(t => t.Steps).Where(s => s.Key == step).Select(s => s.Value)];
            medians[step] = Math.Round(BenchmarkReport.Summarize(samples).Median, 1);
        }

        return medians;
    }

    /// <summary>Restores once: milliseconds from the launch call to QMP ready and to the console answering a command, and the restore's own steps.</summary>
    private static async Task<(double QmpMs, double AnswerMs, RestoreTimeline Timeline)> RestoreAsync(QemuProfile profile, string cache, bool mapped, CancellationToken cancellationToken)
    {
        double qmpMs = double.NaN;
        var clock = Stopwatch.StartNew();
        WarmStartResult result = await LaunchAsync(profile, Options(cache, mapped, _ => qmpMs = clock.Elapsed.TotalMilliseconds), cancellationToken);
        try
        {
            string reply = await result.Machine.Console.RunAsync("echo answered", TimeSpan.FromSeconds(60), cancellationToken);
            double answerMs = clock.Elapsed.TotalMilliseconds;
            RepositoryFiles.Require(result.Mode == WarmStartMode.Restored && result.MemoryMapped == mapped, "warmstart", $"expected a {(mapped ? "mapped" : "stream")} restore, got {result.Mode} (mapped: {result.MemoryMapped}): {result.Warning ?? result.Detail}");
            RepositoryFiles.Require(reply.Trim() == "answered", "warmstart", $"the console answered '{reply}'");
            return (qmpMs, answerMs, result.Timeline!);
        }
        finally
        {
            await result.Machine.ShutdownAsync(cancellationToken: cancellationToken);
        }
    }

    private static WarmStartOptions Options(string cache, bool mapped, Action<QemuMachine>? launched) =>
        new() { CacheDirectory = cache, MapMemory = mapped, Launched = launched };

    private static Task<WarmStartResult> LaunchAsync(QemuProfile profile, WarmStartOptions options, CancellationToken cancellationToken) =>
        WarmStartCache.LaunchAsync(profile, machineOptions: null, options, cancellationToken);
}
