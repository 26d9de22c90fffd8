using System.Text.Json;
using QemuTestKit.Xunit;

namespace WarmSuite;

// Eight classes of one profile, one VM each: what a suite of VM tests looks like, timed cold against warm.

[QemuMachine("tiny")]
public class BootTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class ShellTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class QmpTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class FilesTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class ProcessesTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class MemoryTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class KernelTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

[QemuMachine("tiny")]
public class NetworkTests(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public Task Shell_answers() => Checks.ShellAsync(vm);

    [Fact(Timeout = 120_000)]
    public Task Qmp_answers() => Checks.QmpAsync(vm);
}

internal static class Checks
{
    public static async Task ShellAsync(QemuVm vm)
    {
        string kernel = await vm.Console.RunAsync("uname -s", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("Linux", kernel.Trim());
    }

    public static async Task QmpAsync(QemuVm vm)
    {
        JsonElement status = await vm.Qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("running", status.GetProperty("status").GetString());
    }
}
