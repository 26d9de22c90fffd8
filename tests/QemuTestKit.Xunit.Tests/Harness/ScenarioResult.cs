namespace QemuTestKit.Xunit.Tests.Harness;

/// <summary>What one `dotnet test` run of the scenarios project did.</summary>
public sealed record ScenarioResult(int ExitCode, string Output, IReadOnlyList<string> Log, string ResultsDirectory)
{
    public override string ToString() => $"exit code {ExitCode}\n--- scenario log ---\n{string.Join('\n', Log)}\n--- dotnet test output ---\n{Output}";
}
