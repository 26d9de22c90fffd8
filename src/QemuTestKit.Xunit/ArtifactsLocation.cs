using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace QemuTestKit.Xunit;

/// <summary>
/// Where a class's VM artifacts go: <c>&lt;test results&gt;/qemutestkit/&lt;run id&gt;/&lt;class&gt;/</c>, so they sit
/// with the rest of the run's results and survive it. The run id (the test process's start time, UTC, and its PID)
/// sorts by time and keeps two runs of one project, even concurrent ones, from overwriting each other's logs.
/// </summary>
internal static class ArtifactsLocation
{
    public const string EnvironmentVariable = "QEMUTESTKIT_ARTIFACTS_DIRECTORY";

    private static readonly Lazy<string> s_runId = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return RunId(self.StartTime.ToUniversalTime(), self.Id);
    });

    /// <summary>This test process's run id: the same for every class it runs.</summary>
    public static string CurrentRunId => s_runId.Value;

    public static string ForClass(string className) =>
        Path.Combine(Root(Environment.GetCommandLineArgs(), Environment.GetEnvironmentVariable), "qemutestkit", CurrentRunId, SafeName(className));

    /// <summary>A folder name that sorts by start time (to the millisecond, UTC) and is unique by PID: <c>20261201T142014.248Z-4242</c>.</summary>
    internal static string RunId(DateTime startedUtc, int processId) =>
        startedUtc.ToString("yyyyMMdd'T'HHmmss.fff'Z'", CultureInfo.InvariantCulture) + "-" + processId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The results folder: <c>QEMUTESTKIT_ARTIFACTS_DIRECTORY</c>, else the Testing Platform's <c>--results-directory</c>,
    /// else the <c>TestResults</c> folder <c>dotnet test</c> uses by default (beside where it was started), else one next
    /// to the test assembly.
    /// </summary>
    internal static string Root(IReadOnlyList<string> commandLine, Func<string, string?> environment)
    {
        if (environment(EnvironmentVariable) is { Length: > 0 } fromEnv)
        {
            return Path.GetFullPath(fromEnv);
        }

        for (int i = 0; i < commandLine.Count; i++)
        {
            string arg = commandLine[i];
            if (arg == "--results-directory" && i + 1 < commandLine.Count)
            {
                return Path.GetFullPath(commandLine[i + 1]);
            }

            if (arg.StartsWith("--results-directory=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(arg["--results-directory=".Length..]);
            }
        }

        string baseDirectory = environment("DOTNET_CLI_TEST_COMMAND_WORKING_DIRECTORY") is { Length: > 0 } started
            ? started
            : AppContext.BaseDirectory;
        return Path.Combine(baseDirectory, "TestResults");
    }

    internal static string SafeName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return builder.ToString();
    }
}
