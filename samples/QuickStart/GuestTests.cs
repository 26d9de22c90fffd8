using QemuTestKit.Xunit;

namespace QuickStart;

/// <summary>
/// The same tests on two architectures: the tests live in this abstract class, and one derived class per architecture
/// carries its <see cref="QemuMachineAttribute"/> (<see cref="GuestTestsOnX86_64"/>, <see cref="GuestTestsOnAarch64"/>).
/// Each derived class gets its own VM; test explorers list the tests once per architecture.
/// </summary>
public abstract class GuestTests(QemuVm vm, ITestOutputHelper output)
{
    /// <summary>The architecture the derived class boots, as <c>uname -m</c> prints it.</summary>
    protected abstract string Architecture { get; }

    [Fact(Timeout = 300_000)]
    public async Task The_guest_runs_on_its_architecture()
    {
        string machine = await vm.Console.RunAsync("uname -m", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(Architecture, machine.Trim());
        output.WriteLine($"✔ '{vm.Profile.Name}' runs {machine.Trim()}, booted in {vm.BootTime.TotalSeconds:0.0} s ({vm.Accelerator.ToUpperInvariant()})");
    }

    [Fact(Timeout = 300_000)]
    public async Task The_same_shell_script_gives_the_same_answer()
    {
        var answer = await vm.Console.ExecAsync("echo $((6 * 7)) | tee /tmp/answer; test -s /tmp/answer", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, answer.ExitCode);
        Assert.Equal("42", answer.Output.Trim());
    }
}
