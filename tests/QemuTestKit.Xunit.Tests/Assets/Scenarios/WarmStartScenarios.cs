using QemuTestKit.Xunit;

namespace Scenarios;

// Three classes of one profile: they share its collection, so they run one after another and the first one saves.
[QemuMachine("tiny")]
public class WarmFirst(QemuVm vm) : WarmStartScenario(vm);

[QemuMachine("tiny")]
public class WarmSecond(QemuVm vm) : WarmStartScenario(vm);

[QemuMachine("tiny")]
public class WarmThird(QemuVm vm) : WarmStartScenario(vm);

/// <summary>Leaves a file in the guest's /tmp, and reports which other classes' files it can see (none, if independent).</summary>
public abstract class WarmStartScenario(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public async Task Reports()
    {
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        string name = GetType().Name;
        string seen = await vm.Console.RunAsync("ls /tmp | grep -c '^warm-' || true", cancellationToken: cancellationToken);
        await vm.Console.RunAsync($"echo {name} > /tmp/warm-{name}", cancellationToken: cancellationToken);
        string boot = await vm.Console.RunAsync("dmesg | grep -m1 'Run /init'", cancellationToken: cancellationToken);
        ScenarioLog.Append($"Warm class={name} mode={vm.StartMode} others={seen.Trim()} boot={boot.Trim()} pid={vm.Machine.Pid}");
    }
}
