using System.Text.Json.Nodes;

namespace QemuTestKit.Benchmarks;

/// <summary>What a suite measured: raw figures under <c>results</c>, ours-over-reference under <c>ratios</c>.</summary>
internal sealed class BenchmarkReport(string suite)
{
    private readonly JsonObject _results = [];
    private readonly JsonObject _ratios = [];

    public void Result(string name, double value) => _results[name] = Math.Round(value, 4);

    public void Result(string name, JsonNode value) => _results[name] = value;

    public void Ratio(string name, double value) => _ratios[name] = Math.Round(value, 4);

    /// <summary>Median and 99th percentile of <paramref name="samples"/>.</summary>
    public static (double Median, double P99) Summarize(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0)
        {
            throw new ArgumentException("No samples to summarize.", nameof(samples));
        }

        double[] sorted = [.. samples.Order()];
        return (Percentile(sorted, 0.5), Percentile(sorted, 0.99));
    }

    private static double Percentile(double[] sorted, double p)
    {
        double rank = p * (sorted.Length - 1);
        int low = (int)Math.Floor(rank);
        int high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    public JsonObject ToJson() => new()
    {
        ["suite"] = suite,
        ["results"] = _results.DeepClone(),
        ["ratios"] = _ratios.DeepClone(),
    };
}
