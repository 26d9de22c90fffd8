using System.Globalization;
using System.Text.Json;
using QemuTestKit;
using QemuTestKit.Xunit;

namespace ScaleSuite;

/// <summary>
/// The three tests every generated class runs (xunit discovers them on each derived class). Each test also appends
/// how its class's VM started to the file named by <c>QTK_SCALE_REPORT</c>, for the benchmark to add up.
/// </summary>
public abstract class ScaleChecks(QemuVm vm)
{
    private static readonly Lock ReportLock = new();

    [Fact(Timeout = 120_000)]
    public async Task Shell_answers()
    {
        Record();
        string kernel = await vm.Console.RunAsync("uname -s", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("Linux", kernel.Trim());
    }

    [Fact(Timeout = 120_000)]
    public async Task Qmp_answers()
    {
        Record();
        JsonElement status = await vm.Qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("running", status.GetProperty("status").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Guest_keeps_state_between_tests_of_a_class()
    {
        Record();
        ConsoleExecResult written = await vm.Console.ExecAsync("echo kept >> /tmp/class", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, written.ExitCode);
    }

    private void Record()
    {
        if (Environment.GetEnvironmentVariable("QTK_SCALE_REPORT") is not { Length: > 0 } path)
        {
            return;
        }

        string line = string.Create(CultureInfo.InvariantCulture, $"{GetType().Name}\t{vm.StartMode}\t{vm.BootTime.TotalMilliseconds:0.0}\n");
        lock (ReportLock)
        {
            File.AppendAllText(path, line);
        }
    }
}
