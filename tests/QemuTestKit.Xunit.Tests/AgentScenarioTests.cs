using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The guest agent in a real <c>dotnet test</c> run.</summary>
public sealed class AgentScenarioTests(ScenarioProject scenarios)
{
    private const int TestsFailed = 2;

    [Fact(Timeout = 600_000)]
    public async Task A_failed_test_on_a_vm_with_the_agent_gets_the_agents_transcript_attached()
    {
        ScenarioResult result = await scenarios.RunAsync(["FailingAgentTest"], cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == TestsFailed, result.ToString());
        Assert.Contains("deliberate failure after the agent", result.Output, StringComparison.Ordinal);
        string[] attached = [.. Directory.GetFiles(result.ResultsDirectory, "*.txt", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}qemutestkit{Path.DirectorySeparatorChar}", StringComparison.Ordinal))];
        const string Prefix = "Scenarios.FailingAgentTest.Fails_after_using_the_agent.";
        string agent = Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "qga-transcript.txt");
        string transcript = await File.ReadAllTextAsync(agent, TestContext.Current.CancellationToken);
        Assert.Contains("guest-exec", transcript, StringComparison.Ordinal);
        Assert.Contains("agent-marker-42", transcript, StringComparison.Ordinal);
        Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "qmp-transcript.txt");
    }
}
