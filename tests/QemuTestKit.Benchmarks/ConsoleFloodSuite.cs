namespace QemuTestKit.Benchmarks;

/// <summary>
/// Suite <c>console-flood</c>: only the flood half of <c>console</c> (<see cref="ConsoleFlood"/>), no guest: quick to repeat
/// when comparing builds or profiling the console's read path.
/// </summary>
internal sealed class ConsoleFloodSuite : IBenchmarkSuite
{
    public string Name => "console-flood";

    public Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken) => ConsoleFlood.RunAsync(report, cancellationToken);
}
