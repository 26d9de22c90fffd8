using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>
/// What a run leaves for CI to read: report files that parse whatever the guest printed, artifacts that two runs do not
/// overwrite, and failure messages that blame the right test.
/// </summary>
public sealed partial class ReportScenarioTests(ScenarioProject scenarios) : IDisposable
{
    private const int TestsFailed = 2;

    // Every report the xunit.v3 Testing Platform extension offers (`dotnet test --help` of a test project).
    private static readonly string[] s_reportArguments =
    [
        "--report-xunit-xml", "--report-xunit-junit", "--report-xunit-nunit", "--report-xunit-trx",
        "--report-xunit-html", "--report-xunit-ctrf", "--report-xunit-markdown",
    ];

    private static readonly string[] s_controlByteTests =
    [
        "Console_fails_on_a_pattern_after_escapes",
        "Kit_exception_carries_escapes",
        "Assertion_message_carries_the_guests_output",
    ];

    private readonly string _shared = Directory.CreateTempSubdirectory("qtk-shared-artifacts-").FullName;

    [Fact(Timeout = 600_000)]
    public async Task Every_report_parses_and_holds_every_result_when_vm_tests_fail_with_control_bytes()
    {
        ScenarioResult result = await scenarios.RunAsync(["ControlBytes"], null, s_reportArguments, TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == TestsFailed, result.ToString());
        string[] reports = Directory.GetFiles(result.ResultsDirectory);
        Assert.True(reports.Length == 7, $"expected 7 reports, found: {string.Join(", ", reports)}");
        foreach (string report in reports)
        {
            string text = File.ReadAllText(report);
            Assert.True(!text.Any(IsUnsafe), $"{report} holds control characters:\n{text}");
            foreach (string test in s_controlByteTests)
            {
                Assert.True(text.Contains(test, StringComparison.Ordinal), $"{report} lacks the result of {test}:\n{text}");
            }

            if (report.EndsWith(".xml", StringComparison.Ordinal) || report.EndsWith(".trx", StringComparison.Ordinal) || report.EndsWith(".html", StringComparison.Ordinal))
            {
                XDocument document = Load(report);
                Assert.True(document.Root is not null, report);
            }
            else if (report.EndsWith(".ctrf", StringComparison.Ordinal))
            {
                using JsonDocument json = JsonDocument.Parse(text);
                Assert.Equal(3, json.RootElement.GetProperty("results").GetProperty("tests").GetArrayLength());
            }
        }

        // Each XML report holds all three results as elements, with the kit's message shown, not obeyed.
        Assert.Equal(3, Load(Report(result, ".xunit.xml")).Descendants("test").Count());
        Assert.Equal(3, Load(Report(result, ".junit.xml")).Descendants("testcase").Count());
        Assert.Equal(3, Load(Report(result, ".nunit.xml")).Descendants("test-case").Count());
        Assert.Equal(3, Load(Report(result, ".trx")).Descendants().Count(e => e.Name.LocalName == "UnitTestResult"));
        Assert.Contains(@"QEMU said \x1b[31mred\x1b[0m \x07\x01\x00 and", Load(Report(result, ".junit.xml")).ToString(), StringComparison.Ordinal);

        // The terminal gets no escapes either; the raw bytes stay in the artifacts on disk.
        Assert.False(result.Output.Any(IsUnsafe), result.Output);
        string console = Assert.Single(Directory.GetFiles(Path.Combine(result.ResultsDirectory, "qemutestkit"), "console.log", SearchOption.AllDirectories));
        Assert.Contains("\u001b[6n\u0007\u0001", File.ReadAllText(console), StringComparison.Ordinal);
    }

    [Fact(Timeout = 600_000)]
    public async Task Qemu_that_dies_between_tests_fails_the_next_test_saying_so()
    {
        ScenarioResult result = await scenarios.RunAsync(["DiesBetweenTests"], cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == TestsFailed, result.ToString());
        Assert.Single(result.Log, l => l.EndsWith(" ran", StringComparison.Ordinal));
        Assert.Single(result.Log, l => l.StartsWith("DiesBetweenTests kills", StringComparison.Ordinal));
        Assert.Contains("failed: 1", result.Output, StringComparison.Ordinal);
        Match between = BetweenTests().Match(result.Output);
        Assert.True(between.Success, result.ToString());
        Assert.NotEqual(between.Groups["finished"].Value, between.Groups["starting"].Value);
        Assert.DoesNotContain("during test", result.Output, StringComparison.Ordinal);
        Assert.Contains("Command: /", result.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 600_000)]
    public async Task Two_concurrent_runs_of_one_project_keep_both_runs_artifacts()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var env = new Dictionary<string, string?> { ["QEMUTESTKIT_ARTIFACTS_DIRECTORY"] = _shared };

        ScenarioResult[] runs = await Task.WhenAll(
            scenarios.RunAsync(["Passing"], env, ct),
            scenarios.RunAsync(["Passing"], env, ct));

        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.ToString()));
        string[] runDirectories = Directory.GetDirectories(Path.Combine(_shared, "qemutestkit"));
        Assert.Equal(2, runDirectories.Length);
        foreach (string run in runDirectories)
        {
            Assert.Matches(@"^\d{8}T\d{6}\.\d{3}Z-\d+$", Path.GetFileName(run));
            string artifacts = Path.Combine(run, "Scenarios.Passing");
            Assert.Contains("QEMUTESTKIT-READY", File.ReadAllText(Path.Combine(artifacts, "console.log")), StringComparison.Ordinal);
            Assert.Contains("query-status", File.ReadAllText(Path.Combine(artifacts, "qmp-transcript.txt")), StringComparison.Ordinal);
            Assert.Single(runs, r => r.Log.Any(l => l.Contains($"artifacts={artifacts} ", StringComparison.Ordinal) || l.EndsWith($"artifacts={artifacts}", StringComparison.Ordinal)));
        }
    }

    public void Dispose() => Directory.Delete(_shared, recursive: true);

    private static bool IsUnsafe(char c) => char.IsControl(c) && c is not '\t' and not '\n' and not '\r';

    private static string Report(ScenarioResult result, string suffix) =>
        Assert.Single(Directory.GetFiles(result.ResultsDirectory), f => f.EndsWith(suffix, StringComparison.Ordinal));

    /// <summary>Parses a report as XML 1.0 (the HTML report too: it is XHTML); throws if it is not.</summary>
    private static XDocument Load(string path)
    {
        using XmlReader reader = XmlReader.Create(path, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        return XDocument.Load(reader);
    }

    [GeneratedRegex("""was killed by signal 9 \(SIGKILL\) after test 'Scenarios\.DiesBetweenTests\.(?<finished>One|Two)\(row: "row"\)' finished and before test 'Scenarios\.DiesBetweenTests\.(?<starting>One|Two)\(row: "row"\)' started""")]
    private static partial Regex BetweenTests();
}
