using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Warm start against a cold boot, in one run: time from QEMU start to a console that answers a command for the
/// <c>tiny</c> guest (interleaved, 20 each), and a <c>dotnet test</c> of eight <c>[QemuMachine("tiny")]</c> classes
/// (Assets/WarmSuite) with warm start off and on.
/// </summary>
internal sealed class WarmStartSuite : IBenchmarkSuite
{
    private const int Rounds = 20;
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromMinutes(8);

    public string Name => "warmstart";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string root = RepositoryRoot();
        string cache = Directory.CreateTempSubdirectory("qtk-bench-warmstart-").FullName;
        try
        {
            QemuProfile tiny = BuiltInProfiles.CreateTiny(BuiltInProfiles.FindGuestDirectory(root));
            var options = new WarmStartOptions { CacheDirectory = cache };

            // The state every warm start below restores (not timed).
            WarmStartResult first = await LaunchAsync(tiny, options, cancellationToken);
            Require(first.Mode == WarmStartMode.Saved, $"the first launch should save the state, but was {first.Mode}: {first.Warning}");
            JsonNode metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(first.StateDirectory!, "metadata.json"), cancellationToken))!;
            await first.Machine.ShutdownAsync(cancellationToken: cancellationToken);

            var cold = new List<double>();
            var warm = new List<double>();
            for (int i = 0; i < Rounds; i++)
            {
                cold.Add(await ReadySecondsAsync(tiny, options with { Enabled = false }, WarmStartMode.Cold, cancellationToken));
                warm.Add(await ReadySecondsAsync(tiny, options, WarmStartMode.Restored, cancellationToken));
                Console.Error.WriteLine($"warmstart: round {i + 1}/{Rounds}: cold {cold[^1]:0.000} s, warm {warm[^1]:0.000} s");
            }

            (double coldMedian, double coldP99) = BenchmarkReport.Summarize(cold);
            (double warmMedian, double warmP99) = BenchmarkReport.Summarize(warm);
            report.Result("tiny_rounds", Rounds);
            report.Result("tiny_cold_ready_median_s", coldMedian);
            report.Result("tiny_cold_ready_p99_s", coldP99);
            report.Result("tiny_warm_ready_median_s", warmMedian);
            report.Result("tiny_warm_ready_p99_s", warmP99);
            report.Result("state_bytes", metadata["stateBytes"]!.GetValue<long>());
            report.Result("state_save_s", metadata["saveSeconds"]!.GetValue<double>());
            report.Ratio("warm_over_cold_ready", warmMedian / coldMedian);

            // The suite: the same eight classes, warm start off, then on (the state above exists: same guest, same key).
            string project = Path.Combine(root, "tests", "QemuTestKit.Benchmarks", "Assets", "WarmSuite", "WarmSuite.csproj");
            (_, int built) = await DotnetAsync(["build", project, "-c", "Release", "--nologo", "--disable-build-servers", "-nodeReuse:false"], cache, null, cancellationToken);
            Require(built == 0, "building Assets/WarmSuite failed");
            string[] test = ["test", "--project", project, "-c", "Release", "--no-build", "--no-progress", "--no-ansi", "--results-directory", Path.Combine(cache, "results")];
            (double suiteCold, int coldExit) = await DotnetAsync(test, cache, "0", cancellationToken);
            (double suiteWarm, int warmExit) = await DotnetAsync(test, cache, "1", cancellationToken);
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

    /// <summary>From QEMU start to the console answering a command, then a clean shutdown.</summary>
    private static async Task<double> ReadySecondsAsync(QemuProfile profile, WarmStartOptions options, WarmStartMode expected, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        WarmStartResult result = await LaunchAsync(profile, options, cancellationToken);
        try
        {
            string answer = await result.Machine.Console.RunAsync("echo answered", TimeSpan.FromSeconds(60), cancellationToken);
            double seconds = clock.Elapsed.TotalSeconds;
            Require(result.Mode == expected, $"expected a {expected} start, got {result.Mode}: {result.Warning ?? result.Detail}");
            Require(answer.Trim() == "answered", $"the console answered '{answer}'");
            return seconds;
        }
        finally
        {
            await result.Machine.ShutdownAsync(cancellationToken: cancellationToken);
        }
    }

    private static Task<WarmStartResult> LaunchAsync(QemuProfile profile, WarmStartOptions options, CancellationToken cancellationToken) =>
        WarmStartCache.LaunchAsync(profile, machineOptions: null, options, cancellationToken);

    /// <summary>Runs dotnet and returns its wall time and exit code (a failure's output goes to standard error).</summary>
    private static async Task<(double Seconds, int ExitCode)> DotnetAsync(string[] args, string cache, string? warmStart, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["QEMUTESTKIT_WARMSTART_DIR"] = cache;
        if (warmStart is not null)
        {
            start.Environment["QEMUTESTKIT_WARMSTART"] = warmStart;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_runTimeout);
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        string output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            Console.Error.WriteLine($"warmstart: dotnet {string.Join(' ', args)} (QEMUTESTKIT_WARMSTART={warmStart}) exited with {process.ExitCode}:\n{output}");
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warmstart: dotnet {args[0]} (QEMUTESTKIT_WARMSTART={warmStart ?? "-"}) took {seconds:0.00} s, exit code {process.ExitCode}"));
        return (seconds, process.ExitCode);
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException("warmstart benchmark: " + message);
        }
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QemuTestKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("warmstart benchmark: run it from inside the QemuTestKit repository (QemuTestKit.sln not found above " + AppContext.BaseDirectory + ").");
    }
}
