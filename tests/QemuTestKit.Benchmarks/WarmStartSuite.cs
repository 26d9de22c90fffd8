using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Warm start against a cold boot, in one run: time from QEMU start to a console that answers a command for the
/// <c>tiny</c> guest (interleaved, 20 each: cold, a restore that starts its own QEMU, a restore that takes the QEMU
/// prestarted for it as the xunit package does), a <c>dotnet test</c> of eight <c>[QemuMachine("tiny")]</c> classes
/// (Assets/WarmSuite) with warm start off and on, the stream restore against the mapped one at 256 MB and 1 GB
/// (<see cref="RestoreReadiness"/>), and the memory of eight restored VMs against eight cold ones
/// (<see cref="PrivateMemoryComparison"/>).
/// </summary>
internal sealed class WarmStartSuite : IBenchmarkSuite
{
    private const int Rounds = 20;

    /// <summary>Set to 1 to measure only the cold/restore ready rounds (<c>warm_over_cold_ready</c>), not the rest of the suite.</summary>
    private const string ReadyOnlyVariable = "QTK_BENCH_WARMSTART_READY_ONLY";

    public string Name => "warmstart";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string root = RepositoryFiles.Root();
        string cache = Directory.CreateTempSubdirectory("qtk-bench-warmstart-").FullName;
        try
        {
            QemuProfile tiny = RepositoryFiles.Tiny(root);
            var options = new WarmStartOptions { CacheDirectory = cache };

            // The state every warm start below restores (not timed). Saved as the xunit package does, with PrestartNext:
            // the save starts the QEMU the first prestarted restore takes.
            WarmStartResult first = await LaunchAsync(tiny, options with { PrestartNext = true }, cancellationToken);
            Require(first.Mode == WarmStartMode.Saved, $"the first launch should save the state, but was {first.Mode}: {first.Warning}");
            JsonNode metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(first.StateDirectory!, "metadata.json"), cancellationToken))!;
            await first.Machine.ShutdownAsync(cancellationToken: cancellationToken);

            // Each round: a cold boot, a restore that starts its own QEMU, and a restore that takes the QEMU the previous
            // one prepared (what the next class of a profile gets from the xunit package). The prestarted restore comes
            // last, and the round ends when the spare it leaves is prepared, so no other measurement shares the CPU with it.
            var cold = new List<double>();
            var own = new List<double>();
            var ownSteps = new List<RestoreTimeline>();
            var prestarted = new List<double>();
            var prestartedSteps = new List<RestoreTimeline>();
            var prestartedFromQemuStart = new List<double>();
            for (int i = 0; i < Rounds; i++)
            {
                cold.Add((await ReadySecondsAsync(tiny, options with { Enabled = false }, WarmStartMode.Cold, cancellationToken)).Seconds);
                (double seconds, RestoreTimeline? steps) = await ReadySecondsAsync(tiny, options, WarmStartMode.Restored, cancellationToken);
                Require(!steps!.Prestarted, "a restore without PrestartNext took a prestarted QEMU");
                own.Add(seconds);
                ownSteps.Add(steps);
                (seconds, steps) = await ReadySecondsAsync(tiny, options with { PrestartNext = true }, WarmStartMode.Restored, cancellationToken);
                Require(steps!.Prestarted, "the prestarted restore found no prestarted QEMU");
                prestarted.Add(seconds);
                prestartedSteps.Add(steps);
                Require(await WarmStartSpares.PeekAsync(first.StateDirectory!) is not null, "the prestarted restore left no prepared spare");

                // QEMU start (before the launch call: negative) to the benchmark's echo answered.
                prestartedFromQemuStart.Add(seconds - (steps.Steps.First(s => s.Key == RestoreTimeline.QemuStarted).Value / 1000));
                Console.Error.WriteLine($"warmstart: round {i + 1}/{Rounds}: cold {cold[^1]:0.000} s, warm {own[^1]:0.000} s ({Describe(ownSteps[^1])}), prestarted {prestarted[^1]:0.000} s ({Describe(steps)})");
            }

            // What the prepared spare costs while it waits (restored, paused): its QEMU's memory.
            QemuMachine spare = await WarmStartSpares.PeekAsync(first.StateDirectory!) ?? throw new InvalidOperationException("warmstart benchmark: no prepared spare after the last round.");
            ProcessMemory spareMemory = ProcessMemory.Read(spare.Pid ?? throw new InvalidOperationException("warmstart benchmark: the prepared spare exited."));
            report.Result("tiny_prepared_spare_memory_kib", new JsonObject { ["rss"] = spareMemory.RssKib, ["pss"] = spareMemory.PssKib, ["uss"] = spareMemory.UssKib });
            await WarmStartSpares.DisposeAllAsync();
            (double coldMedian, double coldP99) = BenchmarkReport.Summarize(cold);
            (double ownMedian, double ownP99) = BenchmarkReport.Summarize(own);
            (double prestartedMedian, double prestartedP99) = BenchmarkReport.Summarize(prestarted);
            report.Result("tiny_rounds", Rounds);
            report.Result("tiny_cold_ready_median_s", coldMedian);
            report.Result("tiny_cold_ready_p99_s", coldP99);

            // From the launch call to the benchmark's echo answered: what a test waits for.
            report.Result("tiny_warm_ready_median_s", prestartedMedian);
            report.Result("tiny_warm_ready_p99_s", prestartedP99);
            report.Result("tiny_warm_own_qemu_ready_median_s", ownMedian);
            report.Result("tiny_warm_own_qemu_ready_p99_s", ownP99);
            report.Result("tiny_warm_qemu_start_to_ready_median_s", BenchmarkReport.Summarize(prestartedFromQemuStart).Median);

            // Where a restore's time went, from the launch call (medians): QEMU started (negative: prestarted), QMP ready
            // (handed over), state loaded, guest running, the proof no-op answered; the rest is the benchmark's own echo.
            report.Result("tiny_warm_steps_median_ms", RestoreReadiness.StepMedians(prestartedSteps));
            report.Result("tiny_warm_own_qemu_steps_median_ms", RestoreReadiness.StepMedians(ownSteps));
            report.Result("state_bytes", metadata["stateBytes"]!.GetValue<long>());
            report.Result("state_ram_bytes_written", metadata["ramBytesWritten"]!.GetValue<long>());
            report.Result("state_memory", metadata["memory"]!.GetValue<string>());
            report.Result("state_save_s", metadata["saveSeconds"]!.GetValue<double>());
            report.Ratio("warm_over_cold_ready", prestartedMedian / coldMedian);
            report.Ratio("warm_own_qemu_over_cold_ready", ownMedian / coldMedian);
            if (System.Environment.GetEnvironmentVariable(ReadyOnlyVariable) == "1")
            {
                // For A/B runs of the restore path: the ready rounds alone, several pairs in the time of one full run.
                return;
            }


            await RestoreReadiness.MeasureAsync(tiny, cache, report, cancellationToken);
            await PrivateMemoryComparison.MeasureAsync(tiny, cache, report, cancellationToken);

            // The suite: the same eight classes, warm start off, then on (the state above exists: same guest, same key).
            string project = Path.Combine(root, "tests", "QemuTestKit.Benchmarks", "Assets", "WarmSuite", "WarmSuite.csproj");
            (_, int built, _) = await DotnetRun.RunAsync(["build", project, "-c", "Release", "--nologo", "--disable-build-servers", "-nodeReuse:false"], Environment(cache, null), null, cancellationToken);
            Require(built == 0, "building Assets/WarmSuite failed");
            string[] test = ["test", "--project", project, "-c", "Release", "--no-build", "--no-progress", "--no-ansi", "--results-directory", Path.Combine(cache, "results")];
            (double suiteCold, int coldExit, _) = await DotnetRun.RunAsync(test, Environment(cache, "0"), null, cancellationToken);
            (double suiteWarm, int warmExit, _) = await DotnetRun.RunAsync(test, Environment(cache, "1"), null, cancellationToken);
            report.Result("suite_classes", 8);
            report.Result("suite_cold_s", suiteCold);
            report.Result("suite_warm_s", suiteWarm);

            // Recorded, not thrown: a failed run's time is still a figure, and the ready times above are not lost.
            report.Result("suite_cold_exit_code", coldExit);
            report.Result("suite_warm_exit_code", warmExit);
            report.Ratio("warm_over_cold_suite", suiteWarm / suiteCold);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>From QEMU start to the console answering a command, then a clean shutdown; a restore's steps too.</summary>
    private static async Task<(double Seconds, RestoreTimeline? Steps)> ReadySecondsAsync(QemuProfile profile, WarmStartOptions options, WarmStartMode expected, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        WarmStartResult result = await LaunchAsync(profile, options, cancellationToken);
        try
        {
            string answer = await result.Machine.Console.RunAsync("echo answered", TimeSpan.FromSeconds(60), cancellationToken);
            double seconds = clock.Elapsed.TotalSeconds;
            Require(result.Mode == expected, $"expected a {expected} start, got {result.Mode}: {result.Warning ?? result.Detail}");
            Require(answer.Trim() == "answered", $"the console answered '{answer}'");
            return (seconds, result.Timeline);
        }
        finally
        {
            await result.Machine.ShutdownAsync(cancellationToken: cancellationToken);
        }
    }

    private static string Describe(RestoreTimeline steps) => string.Join(", ", steps.Steps.Select(s => $"{s.Key} {s.Value:0}")) + " ms";

    private static Task<WarmStartResult> LaunchAsync(QemuProfile profile, WarmStartOptions options, CancellationToken cancellationToken) =>
        WarmStartCache.LaunchAsync(profile, machineOptions: null, options, cancellationToken);

    private static Dictionary<string, string?> Environment(string cache, string? warmStart) => new(StringComparer.Ordinal)
    {
        [WarmStartCache.DirectoryVariable] = cache,
        [WarmStartCache.SwitchVariable] = warmStart,
    };

    private static void Require(bool condition, string message) => RepositoryFiles.Require(condition, "warmstart", message);
}
