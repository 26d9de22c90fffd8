using System.Text.Json;
using QemuTestKit.Xunit;

namespace QuickStart;

/// <summary>
/// One tiny Linux VM for this class: booted before the first test, shared by all three, shut down after the last.
/// </summary>
[QemuMachine("tiny")]
public class TinyLinuxTests(QemuVm vm, ITestOutputHelper output)
{
    [Fact(Timeout = 120_000)]
    public async Task The_guest_runs_linux()
    {
        string kernel = await vm.Console.RunAsync("uname -sr", cancellationToken: TestContext.Current.CancellationToken);

        Assert.StartsWith("Linux ", kernel.Trim(), StringComparison.Ordinal);
        output.WriteLine($"✔ '{vm.Profile.Name}' booted {kernel.Trim()} in {vm.BootTime.TotalSeconds:0.0} s ({vm.Accelerator.ToUpperInvariant()}), pid {vm.Machine.Pid}");
    }

    [Fact(Timeout = 120_000)]
    public async Task The_shell_runs_commands_and_reports_their_status()
    {
        var answer = await vm.Console.ExecAsync("echo $((6 * 7)); test -d /proc", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, answer.ExitCode);
        Assert.Equal("42", answer.Output.Trim());
        output.WriteLine($"✔ the guest's shell says 6 × 7 = {answer.Output.Trim()} (exit status {answer.ExitCode})");
    }

    [Fact(Timeout = 120_000)]
    public async Task Qmp_sees_a_running_vm()
    {
        JsonElement status = await vm.Qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        JsonElement version = await vm.Qmp.ExecuteAsync("query-version", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("running", status.GetProperty("status").GetString());
        JsonElement qemu = version.GetProperty("qemu");
        output.WriteLine($"✔ QMP: QEMU {qemu.GetProperty("major")}.{qemu.GetProperty("minor")}.{qemu.GetProperty("micro")} reports the VM '{status.GetProperty("status").GetString()}'");
    }
}
