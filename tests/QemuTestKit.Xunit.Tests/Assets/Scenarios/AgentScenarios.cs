using QemuTestKit.Xunit;

namespace Scenarios;

/// <summary>A test that fails on purpose after using the guest agent: the agent's transcript is attached with the QMP one.</summary>
[QemuMachine("tiny-agent-x86_64")]
public class FailingAgentTest(QemuVm vm)
{
    [Fact(Timeout = 300_000)]
    public async Task Fails_after_using_the_agent()
    {
        await vm.GuestAgent.ExecAsync("/bin/echo", ["agent-marker-42"], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Fail("deliberate failure after the agent");
    }
}
