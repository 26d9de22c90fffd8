using QemuTestKit;
using QemuTestKit.Xunit;

namespace Scenarios;

/// <summary>
/// Tests that fail with terminal escapes and other control bytes in what they report: the console tail in a kit
/// exception, a kit exception built from such text, and an assertion message carrying the guest's raw output.
/// </summary>
[QemuMachine("tiny")]
public class ControlBytes(QemuVm vm)
{
    // The shell echoes the command line itself; octal \055 keeps the failure pattern out of that echo.
    private const string PrintEscapes = "printf '\\033[6n\\007\\001 \\033]0;title\\007 QTK-FAIL\\055MARK\\n'";

    [Fact(Timeout = 120_000)]
    public async Task Console_fails_on_a_pattern_after_escapes()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await vm.Console.SendLineAsync(PrintEscapes, ct);
        await vm.Console.WaitForAsync("never-printed-marker", ["QTK-FAIL-MARK"], TimeSpan.FromSeconds(90), ct);
    }

    [Fact]
    public void Kit_exception_carries_escapes() =>
        throw new QemuMachineException("QEMU said \u001b[31mred\u001b[0m \u0007\u0001\u0000 and \ud800 alone");

    [Fact(Timeout = 120_000)]
    public async Task Assertion_message_carries_the_guests_output()
    {
        string output = await vm.Console.RunAsync("printf '\\033[6n\\007\\001done\\033[0m'", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("something else", output);
    }
}

/// <summary>
/// QEMU dies after one test finished and before the next started. Both tests are theories whose data is enumerated
/// when the test case starts running, which is after the previous test's "finished" notifications and before this
/// one's "starting" ones: the second test's data source kills QEMU that the first one armed, and waits until it is gone.
/// </summary>
[QemuMachine("tiny")]
public class DiesBetweenTests(QemuVm vm)
{
    private static QemuVm? s_armed;

    public static TheoryData<string> KillArmedVm()
    {
        if (Interlocked.Exchange(ref s_armed, null) is QemuVm armed)
        {
            int pid = armed.Machine.Pid ?? throw new InvalidOperationException("no pid");
            ScenarioLog.Append($"DiesBetweenTests kills {pid}");
            ScenarioLog.Signal(pid, ScenarioLog.SigKill);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (armed.Machine.IsRunning)
            {
                Task.Delay(50, deadline.Token).GetAwaiter().GetResult();
            }
        }

        return new TheoryData<string>("row");
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(KillArmedVm), DisableDiscoveryEnumeration = true)]
    public Task One(string row) => RunAsync(nameof(One), row, TestContext.Current.CancellationToken);

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(KillArmedVm), DisableDiscoveryEnumeration = true)]
    public Task Two(string row) => RunAsync(nameof(Two), row, TestContext.Current.CancellationToken);

    private async Task RunAsync(string test, string row, CancellationToken cancellationToken)
    {
        await vm.Qmp.ExecuteAsync("query-status", cancellationToken: cancellationToken);
        ScenarioLog.Append($"DiesBetweenTests {test}({row}) ran");
        s_armed = vm;
    }
}
