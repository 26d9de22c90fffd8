using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>Warm start through the fixture: <c>dotnet test</c> of three <c>[QemuMachine("tiny")]</c> classes in a subprocess.</summary>
public sealed class WarmStartScenarioTests(ScenarioProject scenarios) : IDisposable
{
    private static readonly string[] s_classes = ["WarmFirst", "WarmSecond", "WarmThird"];

    private readonly string _cache = Directory.CreateTempSubdirectory("qtk-warm-scenario-").FullName;

    [Fact(Timeout = 900_000)]
    public async Task The_first_class_saves_the_others_restore_independent_VMs_and_a_corrupt_state_falls_back_to_cold()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var env = new Dictionary<string, string?> { ["QEMUTESTKIT_WARMSTART"] = "1", ["QEMUTESTKIT_WARMSTART_DIR"] = _cache };

        ScenarioResult run = await scenarios.RunAsync(s_classes, env, ct);

        Assert.True(run.ExitCode == 0, run.Output);
        string[] lines = [.. run.Log.Where(l => l.StartsWith("Warm ", StringComparison.Ordinal))];
        Assert.Equal(3, lines.Length);
        Assert.Single(lines, l => l.Contains("mode=Saved", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.Contains("mode=Restored", StringComparison.Ordinal)));
        Assert.All(lines, l => Assert.Contains("others=0 ", l, StringComparison.Ordinal));
        Assert.Single(lines.Select(l => Field(l, "boot=", " pid=")).Distinct());
        Assert.Equal(3, lines.Select(l => Field(l, "pid=", null)).Distinct().Count());

        // A state that no longer loads: the class still passes, booted cold, and the state is gone.
        string stateDirectory = Assert.Single(Directory.GetDirectories(_cache), d => !Path.GetFileName(d).StartsWith('.'));
        await File.WriteAllTextAsync(Path.Combine(stateDirectory, "state"), "garbage", ct);

        ScenarioResult corrupt = await scenarios.RunAsync(["WarmFirst"], env, ct);

        Assert.True(corrupt.ExitCode == 0, corrupt.Output);
        Assert.Contains(corrupt.Log, l => l.StartsWith("Warm class=WarmFirst mode=Cold", StringComparison.Ordinal));
        Assert.False(Directory.Exists(stateDirectory), "the corrupt state is deleted");
    }

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private static string Field(string line, string start, string? end)
    {
        int from = line.IndexOf(start, StringComparison.Ordinal) + start.Length;
        int to = end is null ? line.Length : line.IndexOf(end, from, StringComparison.Ordinal);
        return line[from..to];
    }
}
