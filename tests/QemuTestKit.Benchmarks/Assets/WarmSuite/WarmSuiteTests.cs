using System.Text.Json;
using QemuTestKit.Xunit;

namespace WarmSuite;

// Eight classes of one profile, one VM each: what a suite of VM tests looks like, timed cold against warm.

[QemuMachine("tiny")]
public class BootTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class ShellTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class QmpTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class FilesTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class ProcessesTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class MemoryTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class KernelTests(QemuVm vm) : TinyChecks(vm);

[QemuMachine("tiny")]
public class NetworkTests(QemuVm vm) : TinyChecks(vm);

/// <summary>The tests every class runs (xunit discovers them on each derived class).</summary>
public abstract class TinyChecks(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public async Task Shell_answers()
    {
        string kernel = await vm.Console.RunAsync("uname -s", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("Linux", kernel.Trim());
    }

    [Fact(Timeout = 120_000)]
    public async Task Qmp_answers()
    {
        JsonElement status = await vm.Qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("running", status.GetProperty("status").GetString());
    }
}
