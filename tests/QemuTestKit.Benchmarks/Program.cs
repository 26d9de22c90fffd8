using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Benchmarks;

// Contract: dotnet run -c Release --project tests/QemuTestKit.Benchmarks -- <suite> --json <file>
// writes {"suite": "...", "results": {...}, "ratios": {...}}. Each suite is a class implementing
// IBenchmarkSuite; they are found by reflection, so adding one touches no shared file.
var suites = typeof(IBenchmarkSuite).Assembly.GetTypes()
    .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IBenchmarkSuite).IsAssignableFrom(t))
    .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
    .ToDictionary(s => s.Name, StringComparer.Ordinal);

string? suiteName = null;
string? jsonPath = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--json" && i + 1 < args.Length)
    {
        jsonPath = args[++i];
    }
    else if (suiteName is null && !args[i].StartsWith('-'))
    {
        suiteName = args[i];
    }
    else
    {
        return Usage($"unexpected argument '{args[i]}'");
    }
}

if (suiteName is null || !suites.TryGetValue(suiteName, out IBenchmarkSuite? suite))
{
    return Usage(suiteName is null ? "no suite given" : $"unknown suite '{suiteName}'");
}

var report = new BenchmarkReport(suite.Name);
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
await suite.RunAsync(report, cts.Token);

JsonObject json = report.ToJson();
string text = json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(text);
if (jsonPath is not null)
{
    await File.WriteAllTextAsync(jsonPath, text + "\n");
}

return 0;

int Usage(string problem)
{
    Console.Error.WriteLine($"qemutestkit-benchmarks: {problem}");
    Console.Error.WriteLine("usage: QemuTestKit.Benchmarks <suite> [--json <file>]");
    Console.Error.WriteLine("suites: " + (suites.Count == 0 ? "(none yet)" : string.Join(", ", suites.Keys.Order(StringComparer.Ordinal))));
    return 2;
}
