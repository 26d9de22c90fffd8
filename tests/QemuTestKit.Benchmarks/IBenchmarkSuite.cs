namespace QemuTestKit.Benchmarks;

/// <summary>One benchmark suite, selected by <see cref="Name"/> on the command line.</summary>
internal interface IBenchmarkSuite
{
    string Name { get; }

    /// <summary>Measures, side by side in one run, and records results and ratios in <paramref name="report"/>.</summary>
    Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken);
}
