using System.Text.Json.Nodes;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Part of the <c>warmstart</c> suite: the memory of eight <c>tiny</c> VMs running at once, cold-booted against
/// restored from one mapped state. Started a few at a time (two cores cannot boot eight at once in a sensible time);
/// measured once all eight have answered a command, from each QEMU's <c>/proc/&lt;pid&gt;/smaps_rollup</c>.
/// </summary>
internal static class PrivateMemoryComparison
{
    private const int Vms = 8;
    private const int AtOnce = 2;

    public static async Task MeasureAsync(QemuProfile tiny, string cache, BenchmarkReport report, CancellationToken cancellationToken)
    {
        ProcessMemory cold = await MeasureAsync(tiny, new WarmStartOptions { CacheDirectory = cache, Enabled = false }, WarmStartMode.Cold, cancellationToken);
        ProcessMemory restored = await MeasureAsync(tiny, new WarmStartOptions { CacheDirectory = cache }, WarmStartMode.Restored, cancellationToken);

        report.Result("memory_8_vms_kib", new JsonObject
        {
            ["vms"] = Vms,
            ["cold"] = Json(cold),
            ["restored_mapped"] = Json(restored),
        });
        report.Ratio("restored_over_cold_uss_8_vms", (double)restored.UssKib / cold.UssKib);
        report.Ratio("restored_over_cold_pss_8_vms", (double)restored.PssKib / cold.PssKib);
    }

    private static async Task<ProcessMemory> MeasureAsync(QemuProfile tiny, WarmStartOptions options, WarmStartMode expected, CancellationToken cancellationToken)
    {
        var machines = new List<QemuMachine>();
        try
        {
            for (int started = 0; started < Vms; started += AtOnce)
            {
                WarmStartResult[] batch = await Task.WhenAll(Enumerable.Range(0, AtOnce).Select(_ => WarmStartCache.LaunchAsync(tiny, null, options, cancellationToken)));
                machines.AddRange(batch.Select(r => r.Machine));
                foreach (WarmStartResult result in batch)
                {
                    RepositoryFiles.Require(result.Mode == expected, "warmstart", $"expected {expected} VMs for the memory comparison, got {result.Mode}: {result.Warning ?? result.Detail}");
                }
            }

            foreach (QemuMachine machine in machines)
            {
                string reply = await machine.Console.RunAsync("echo answered", TimeSpan.FromSeconds(60), cancellationToken);
                RepositoryFiles.Require(reply.Trim() == "answered", "warmstart", $"a VM of the memory comparison answered '{reply}'");
            }

            ProcessMemory sum = ProcessMemory.Sum(machines.Select(m => ProcessMemory.Read(m.Pid ?? throw new InvalidOperationException("warmstart benchmark: a VM exited before its memory was read."))));
            Console.Error.WriteLine($"warmstart: {Vms} {expected} VMs: RSS {sum.RssKib / 1024} MiB, PSS {sum.PssKib / 1024} MiB, USS {sum.UssKib / 1024} MiB");
            return sum;
        }
        finally
        {
            foreach (QemuMachine machine in machines)
            {
                await machine.ShutdownAsync(cancellationToken: cancellationToken);
            }
        }
    }

    private static JsonObject Json(ProcessMemory memory) => new()
    {
        ["rss"] = memory.RssKib,
        ["pss"] = memory.PssKib,
        ["uss"] = memory.UssKib,
    };
}
