using System.Text.Json;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// The kit's guest-level contract, the same test source on every architecture (the pattern the README shows): the
/// console runs commands and reports their status, QMP sees the VM of the right architecture, and a graceful shutdown
/// ends QEMU with status 0 and leaves nothing behind. One derived class per architecture; one boot per class.
/// </summary>
public abstract class GuestContractTests(string profileName, string arch)
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 300_000)]
    public async Task Console_QMP_and_shutdown_work_on_this_architecture()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(profileName);
        await using TinyGuestVm vm = await TinyGuestVm.BootAsync(profile, ct);

        Assert.Equal(arch, await vm.Console.RunAsync("uname -m", profile.BootTimeout, ct));
        ConsoleExecResult failed = await vm.Console.ExecAsync("echo out; exit_with() { return $1; }; exit_with 3", profile.BootTimeout, ct);
        Assert.Equal(3, failed.ExitCode);
        Assert.Equal("out", failed.Output.Trim());

        JsonElement status = await vm.Machine.Qmp.ExecuteAsync("query-status", cancellationToken: ct);
        Assert.Equal("running", status.GetProperty("status").GetString());
        JsonElement target = await vm.Machine.Qmp.ExecuteAsync("query-target", cancellationToken: ct);
        Assert.Equal(arch, target.GetProperty("arch").GetString());
        await vm.Machine.Qmp.ExecuteAsync("stop", cancellationToken: ct);
        Assert.Equal("paused", (await vm.Machine.Qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
        await vm.Machine.Qmp.ExecuteAsync("cont", cancellationToken: ct);
        Assert.Equal("resumed", await vm.Console.RunAsync("echo resumed", profile.BootTimeout, ct));

        await vm.Machine.ShutdownAsync(timeout: ShutdownTimeout, cancellationToken: ct);
        Assert.Equal(0, vm.Machine.ExitCode);
        // Disposing the VM asserts no process, folder or socket of it is left.
    }
}
