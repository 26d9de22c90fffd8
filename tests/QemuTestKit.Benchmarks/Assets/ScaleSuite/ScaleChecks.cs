using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using QemuTestKit;
using QemuTestKit.Xunit;

namespace ScaleSuite;

/// <summary>
/// The three tests every generated class runs (xunit discovers them on each derived class). Each test also appends
/// how its class's VM started and how long the test's own body took to the file named by <c>QTK_SCALE_REPORT</c>,
/// for the benchmark to add up.
/// </summary>
public abstract class ScaleChecks(QemuVm vm)
{
    private static readonly Lock ReportLock = new();

    [Fact(Timeout = 120_000)]
    public async Task Shell_answers()
    {
        var body = Stopwatch.StartNew();
        string kernel = await vm.Console.RunAsync("uname -s", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("Linux", kernel.Trim());
        Record(body);
    }

    [Fact(Timeout = 120_000)]
    public async Task Qmp_answers()
    {
        var body = Stopwatch.StartNew();
        JsonElement status = await vm.Qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Record(body);
    }

    [Fact(Timeout = 120_000)]
    public async Task Guest_keeps_state_between_tests_of_a_class()
    {
        var body = Stopwatch.StartNew();
        ConsoleExecResult written = await vm.Console.ExecAsync("echo kept >> /tmp/class", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, written.ExitCode);
        Record(body);
    }

    private void Record(Stopwatch body)
    {
        if (Environment.GetEnvironmentVariable("QTK_SCALE_REPORT") is not { Length: > 0 } path)
        {
            return;
        }

        string line = string.Create(CultureInfo.InvariantCulture, $"{GetType().Name}\t{vm.StartMode}\t{vm.BootTime.TotalMilliseconds:0.0}\t{body.Elapsed.TotalMilliseconds:0.0}\n");
        lock (ReportLock)
        {
            File.AppendAllText(path, line);
        }
    }
}
