using System.Diagnostics;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Boot to ready and warm restore for each built-in tiny guest, side by side in one run: <c>tiny-x86_64</c> (the
/// reference), <c>tiny-aarch64</c> (emulated), <c>tiny-uefi-x86_64</c> and <c>tiny-uefi-aarch64</c> (UEFI firmware
/// booting the disk image). Each round boots cold, then restores the state the first launch saved; rounds interleave
/// the profiles so the box's load falls on all of them alike. <c>&lt;profile&gt;_cold_over_tiny</c> compares each cold
/// boot with <c>tiny-x86_64</c>'s.
/// </summary>
internal sealed class ArchitecturesSuite : IBenchmarkSuite
{
    private const int Rounds = 3;

    private static readonly string[] Profiles =
        [BuiltInProfiles.TinyX86_64, BuiltInProfiles.TinyAarch64, BuiltInProfiles.TinyUefiX86_64, BuiltInProfiles.TinyUefiAarch64];

    public string Name => "warmstart-arch";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string cache = Directory.CreateTempSubdirectory("qtk-bench-arch-").FullName;
        try
        {
            var profiles = Profiles.ToDictionary(n => n, n => BuiltInProfiles.TryCreate(n, AppContext.BaseDirectory)!);
            var cold = Profiles.ToDictionary(n => n, _ => new List<double>());
            var warm = Profiles.ToDictionary(n => n, _ => new List<double>());
            var warmOn = new WarmStartOptions { CacheDirectory = cache };
            foreach (string name in Profiles)
            {
                // The state the restores below start from (not timed).
                await StartAsync(profiles[name], warmOn, WarmStartMode.Saved, cancellationToken);
            }

            for (int round = 0; round < Rounds; round++)
            {
                foreach (string name in Profiles)
                {
                    cold[name].Add(await StartAsync(profiles[name], warmOn with { Enabled = false }, WarmStartMode.Cold, cancellationToken));
                    warm[name].Add(await StartAsync(profiles[name], warmOn, WarmStartMode.Restored, cancellationToken));
                    Console.Error.WriteLine($"warmstart-arch: round {round + 1}/{Rounds} {name}: cold {cold[name][^1]:0.000} s, warm {warm[name][^1]:0.000} s");
                }
            }

            report.Result("rounds", Rounds);
            double reference = BenchmarkReport.Summarize(cold[BuiltInProfiles.TinyX86_64]).Median;
            foreach (string name in Profiles)
            {
                string key = name.Replace('-', '_');
                double coldMedian = BenchmarkReport.Summarize(cold[name]).Median;
                double warmMedian = BenchmarkReport.Summarize(warm[name]).Median;
                report.Result($"{key}_cold_ready_median_s", coldMedian);
                report.Result($"{key}_warm_ready_median_s", warmMedian);
                report.Ratio($"{key}_warm_over_cold", warmMedian / coldMedian);
                report.Ratio($"{key}_cold_over_tiny", coldMedian / reference);
            }
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>Seconds from the start to the console answering a command (the kit's boot, then one command); shuts down.</summary>
    private static async Task<double> StartAsync(QemuProfile profile, WarmStartOptions warmStart, WarmStartMode expected, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        QemuBootResult boot = await QemuBoot.StartAsync(profile, new QemuBootOptions { WarmStart = warmStart }, cancellationToken);
        await using QemuMachine machine = boot.Machine;
        string answer = (await machine.Console.RunAsync("echo up", TimeSpan.FromSeconds(120), cancellationToken)).Trim();
        double seconds = clock.Elapsed.TotalSeconds;
        await machine.ShutdownAsync(cancellationToken: cancellationToken);
        if (boot.StartMode != expected || answer != "up")
        {
            throw new InvalidOperationException($"{profile.Name}: expected a {expected} start answering 'up', got {boot.StartMode} answering '{answer}': {boot.Start.Warning ?? boot.Start.Detail}");
        }

        return seconds;
    }
}
