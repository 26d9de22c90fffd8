using System.Text.Json;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Machine;

public sealed class LaunchTests
{
    [Fact(Timeout = 60_000)]
    public async Task Launch_negotiates_QMP_and_shutdown_cleans_up()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.True(machine.IsRunning);
        Assert.NotNull(machine.Pid);
        Assert.Null(machine.ExitCode);
        JsonElement status = await machine.CommandAsync("query-status", cancellationToken: ct);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.Contains("-display", machine.CommandLine);
        Assert.Contains("chardev=mon,mode=control", machine.CommandLine);
        Assert.Equal(["-machine", "none"], machine.CommandLine.SkipWhile(a => a != "-machine").Take(2));

        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.False(machine.IsRunning);
        Assert.Null(machine.Pid);
        Assert.Equal(0, machine.ExitCode);
        Assert.NotNull(machine.Log);
        await leaks.AssertNothingLeftAsync();
    }
}
