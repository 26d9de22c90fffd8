using QemuTestKit.Xunit;

// Profiles with "runner": "container" boot through the container launcher (the QemuTestKit.Containers package).
[assembly: QemuTestKit.Containers.QemuContainers]

namespace Scenarios;

// A container VM and the keep setting: a failed class's VM in a container is not kept, and the test says why.

[QemuMachine("tiny-container")]
public class KeepRefusedInContainer(QemuVm vm)
{
    [Fact(Timeout = 300_000)]
    public async Task Fails_in_a_container()
    {
        string answer = await vm.Console.RunAsync("echo in-container", cancellationToken: TestContext.Current.CancellationToken);
        ScenarioLog.Append($"KeepRefusedInContainer answer={answer.Trim()} pid={vm.Machine.Pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} artifacts={vm.ArtifactsDirectory}");
        Assert.Fail("deliberate failure: a container VM is not kept");
    }
}
