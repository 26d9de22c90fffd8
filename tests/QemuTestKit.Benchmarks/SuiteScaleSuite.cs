using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// A suite of the size users will have, run by <c>dotnet test</c>: a generated test assembly of 32
/// <c>[QemuMachine("tiny", Parallel = true)]</c> classes of 3 tests each (Assets/ScaleSuite), all restored from one
/// saved state. Its wall time against the sum of the 32 restores divided by the VM limit (what QEMU's restores alone
/// would take on that many slots) gives the kit's own overhead per class; the number of QEMU processes the run had at
/// once is watched from /proc, among the descendants of <c>dotnet test</c> only (other QEMUs on the host are not ours).
/// </summary>
internal sealed class SuiteScaleSuite : IBenchmarkSuite
{
    private const int Classes = 32;
    private const int TestsPerClass = 3;
    private const int VmLimit = 2;
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(20);

    public string Name => "suite";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string root = RepositoryFiles.Root();
        string work = Directory.CreateTempSubdirectory("qtk-bench-suite-").FullName;
        try
        {
            string cache = Path.Combine(work, "cache");
            string classes = Path.Combine(work, "Classes.g.cs");
            string records = Path.Combine(work, "starts.tsv");
            await File.WriteAllTextAsync(classes, GenerateClasses(), cancellationToken);

            // The state every class restores, saved before the run (not timed): the run measures restores only.
            WarmStartResult first = await WarmStartCache.LaunchAsync(RepositoryFiles.Tiny(root), null, new WarmStartOptions { CacheDirectory = cache }, cancellationToken);
            await first.Machine.ShutdownAsync(cancellationToken: cancellationToken);
            RepositoryFiles.Require(first.Mode != WarmStartMode.Cold, Name, $"saving the state failed: {first.Warning ?? first.Detail}");

            string project = Path.Combine(root, "tests", "QemuTestKit.Benchmarks", "Assets", "ScaleSuite", "ScaleSuite.csproj");
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                [WarmStartCache.DirectoryVariable] = cache,
                [WarmStartCache.SwitchVariable] = null,
                ["QEMUTESTKIT_MAX_VMS"] = VmLimit.ToString(CultureInfo.InvariantCulture),
                ["QTK_SCALE_REPORT"] = records,
            };
            (_, int built, _) = await DotnetRun.RunAsync(["build", project, "-c", "Release", "--nologo", "--disable-build-servers", "-nodeReuse:false", "-p:ScaleSuiteClasses=" + classes], environment, null, cancellationToken);
            RepositoryFiles.Require(built == 0, Name, "building Assets/ScaleSuite failed");

            // The same host start-up with no test selected: what dotnet test costs before any class runs.
            string[] test = ["test", "--project", project, "-c", "Release", "--no-build", "--no-progress", "--no-ansi", "--results-directory", Path.Combine(work, "results")];
            (double empty, _, _) = await DotnetRun.RunAsync([.. test, "--filter-class", "NoSuchClass"], environment, null, cancellationToken);

            var watch = new QemuProcessWatch();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task watching = Task.CompletedTask;
            (double wall, int exit, string output) = await DotnetRun.RunAsync(
                test,
                environment,
                pid => watching = watch.RunAsync(pid, s_poll, stop.Token),
                cancellationToken);
            await stop.CancelAsync();
            await watching;

            string[][] lines = [.. (await File.ReadAllLinesAsync(records, cancellationToken)).Select(l => l.Split('\t'))];
            string[][] starts = [.. lines.DistinctBy(f => f[0])];
            double testSum = lines.Sum(f => double.Parse(f[3], CultureInfo.InvariantCulture)) / 1000;
            RepositoryFiles.Require(exit == 0, Name, $"dotnet test exited with {exit}: {output}");
            RepositoryFiles.Require(starts.Length == Classes, Name, $"{starts.Length} of {Classes} classes recorded their start");
            int restored = starts.Count(f => f[1] == nameof(WarmStartMode.Restored));
            double restoreSum = starts.Sum(f => double.Parse(f[2], CultureInfo.InvariantCulture)) / 1000;
            double restoresOnSlots = restoreSum / VmLimit;
            double overheadPerClassMs = (wall - empty - restoresOnSlots) / Classes * 1000;
            double besideTestsPerClassMs = (wall - empty - ((restoreSum + testSum) / VmLimit)) / Classes * 1000;

            report.Result("classes", Classes);
            report.Result("tests", Classes * TestsPerClass);
            report.Result("vm_limit", VmLimit);
            report.Result("restored_classes", restored);
            report.Result("wall_s", wall);
            report.Result("host_without_tests_s", empty);
            report.Result("restore_sum_s", restoreSum);
            report.Result("restore_median_ms", BenchmarkReport.Summarize([.. starts.Select(f => double.Parse(f[2], CultureInfo.InvariantCulture))]).Median);
            report.Result("restores_on_slots_s", restoresOnSlots);
            report.Result("kit_overhead_per_class_ms", overheadPerClassMs);
            report.Result("test_bodies_sum_s", testSum);
            report.Result("overhead_beside_test_bodies_per_class_ms", besideTestsPerClassMs);
            report.Result("peak_qemu_processes", watch.Peak);
            report.Result("peak_qemu_vms", watch.PeakVms);
            report.Result("peak_qemu_vms_seen", new JsonArray([.. watch.PeakVmSample.Select(v => (JsonNode?)JsonValue.Create(v))]));
            report.Result("method", new JsonObject
            {
                ["wall"] = "dotnet test --no-build of the generated assembly, QEMUTESTKIT_MAX_VMS=2, state saved beforehand",
                ["restore"] = "QemuVm.BootTime of each class (slot taken to console answering), summed",
                ["overhead"] = "(wall - host_without_tests - restore_sum / vm_limit) / classes",
                ["beside_test_bodies"] = "(wall - host_without_tests - (restore_sum + test_bodies_sum) / vm_limit) / classes: what is left is the kit's shutdown, cleanup, artifacts and xunit's scheduling",
            });
            report.Ratio("wall_over_restores_on_slots", (wall - empty) / restoresOnSlots);
            report.Ratio("peak_qemu_vms_over_vm_limit", (double)watch.PeakVms / VmLimit);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string GenerateClasses()
    {
        var text = new StringBuilder("using QemuTestKit.Xunit;\n\nnamespace ScaleSuite;\n");
        for (int i = 1; i <= Classes; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n[QemuMachine(\"tiny\", Parallel = true)]\npublic sealed class Class{i:00}(QemuVm vm) : ScaleChecks(vm);\n");
        }

        return text.ToString();
    }
}
