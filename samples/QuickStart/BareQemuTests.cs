using System.Text.Json;
using QemuTestKit.Xunit;

namespace QuickStart;

/// <summary>
/// The built-in <c>none</c> profile: QEMU with no guest at all (<c>-machine none</c>), just QMP. Ready in a blink, for
/// tests of QEMU itself or of code that drives it.
/// </summary>
[QemuMachine("none")]
public class BareQemuTests(QemuVm vm, ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Qmp_lists_the_machines_this_qemu_can_emulate()
    {
        JsonElement machines = await vm.Qmp.ExecuteAsync("query-machines", cancellationToken: TestContext.Current.CancellationToken);

        string[] names = [.. machines.EnumerateArray().Select(m => m.GetProperty("name").GetString()!)];
        Assert.Contains(names, name => name.StartsWith("pc-q35-", StringComparison.Ordinal));
        output.WriteLine($"✔ a bare QEMU was ready in {vm.BootTime.TotalSeconds:0.00} s and can emulate {names.Length} machine types, q35 among them");
    }
}
