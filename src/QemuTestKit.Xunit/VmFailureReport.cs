using System.Globalization;
using System.Text;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;
using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

/// <summary>
/// What a failing class VM tells the user: the message for each way it can fail (boot, death during a test, death
/// between tests, death after the last test, failed shutdown), each with the evidence — QEMU's exit status and command
/// line, its output and the console tail — and the artifacts attached to the failing test.
/// </summary>
/// <remarks>
/// Messages and attachments are printable (<see cref="PrintableText"/>): the guest's terminal escapes would otherwise
/// make the run's XML reports unreadable. The artifact files on disk keep the raw bytes.
/// </remarks>
internal sealed class VmFailureReport(string className, VmArtifacts artifacts)
{
    private const int TailLines = 30;

    /// <summary>The guest agent's transcript in the artifacts folder (a machine with the agent only).</summary>
    internal const string AgentTranscriptFile = "qga-transcript.txt";

    private QemuMachine? _machine;
    private QmpTranscript? _agentTranscript;

    /// <summary>The class's machine, once created (a boot can fail before it exists).</summary>
    public QemuMachine? Machine
    {
        get => _machine;
        set
        {
            _machine = value;
            KeepAgentTranscript();
        }
    }

    /// <summary>The resolved profile, once loaded.</summary>
    public QemuProfile? Profile { get; set; }

    /// <summary>The machine's QMP transcript, once QEMU answered QMP.</summary>
    public QmpTranscript? Transcript { get; set; }

    public string BootFailed(string profileName, Exception ex)
    {
        string source = Profile is null ? "" : $" from {Profile.Source}";

        // A launch failure's message already holds the command line and QEMU's output; say them once.
        bool launch = ex is QemuLaunchException { CommandLine.Count: > 0 };
        return $"The VM for {className} did not boot (profile '{profileName}'{source}): {ex.GetType().Name}: {ex.Message}\n" +
            Evidence(includeCommand: !launch, includeQemuOutput: ex is not QemuLaunchException);
    }

    public string DiedDuring(string test) =>
        $"QEMU {DescribeExit(Machine?.ExitCode)} during test '{test}'.";

    public string DiedBetween(string? finishedTest, string startingTest) => finishedTest is null
        ? $"QEMU {DescribeExit(Machine?.ExitCode)} after the VM of {className} was ready and before the first test '{startingTest}' started."
        : $"QEMU {DescribeExit(Machine?.ExitCode)} after test '{finishedTest}' finished and before test '{startingTest}' started.";

    public string DiedAfterLastTest() =>
        $"The VM of {className} {DescribeExit(Machine?.ExitCode)} after its last test, before the kit shut it down.\n{Evidence()}";

    public string ShutdownFailed(TimeSpan timeout, Exception ex) =>
        $"The VM of {className} could not be shut down gracefully within {VmBootLog.Seconds(timeout)} (shutdownTimeoutSeconds); " +
        $"it was killed. QEMU {DescribeExit(Machine?.ExitCode)}.\n{ex.Message}\n{Evidence()}";

    /// <summary>What QEMU said and what the console showed last, for failure messages; always the command line.</summary>
    public string Evidence(bool includeCommand = true, bool includeQemuOutput = true)
    {
        var text = new StringBuilder();
        if (includeCommand)
        {
            string command = Machine is { CommandLine.Count: > 0 } machine ? CommandLineText.Format(machine.CommandLine) : "(QEMU was not started)";
            text.Append(CultureInfo.InvariantCulture, $"Command: {command}\n");
        }

        if (Machine is not null)
        {
            if (includeQemuOutput)
            {
                string qemuOutput = Machine.Log ?? artifacts.Read(VmArtifacts.QemuLog);
                text.Append(CultureInfo.InvariantCulture, $"QEMU output:\n{CommandLineText.Tail(qemuOutput, TailLines)}\n");
            }

            if (Profile?.Console is not null)
            {
                string console = ConsoleText.Clean(artifacts.Read(VmArtifacts.ConsoleLog));
                text.Append(CultureInfo.InvariantCulture, $"Console (last {TailLines} lines):\n{CommandLineText.Tail(console, TailLines)}\n");
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"Artifacts: {artifacts.Directory}");
        return PrintableText.Of(text.ToString());
    }

    /// <summary>Writes what only lives in memory (the QMP transcript) to the artifacts folder.</summary>
    /// <exception cref="IOException">The folder cannot be written.</exception>
    public void WriteArtifacts()
    {
        if (Machine is not null)
        {
            artifacts.Write(VmArtifacts.QmpTranscript, Transcript?.ToString());
            if (Machine.HasGuestAgent)
            {
                KeepAgentTranscript();
                artifacts.Write(AgentTranscriptFile, _agentTranscript?.ToString());
            }
        }
    }

    /// <summary>
    /// Remembers the connected agent's transcript: the machine drops its client when QEMU exits, and a VM that died
    /// during a test is when the transcript matters most. A reconnect (restore, reboot) gives a new client, so look again.
    /// </summary>
    private void KeepAgentTranscript()
    {
        if (_machine is { HasGuestAgent: true, IsRunning: true })
        {
            try
            {
                _agentTranscript = _machine.GuestAgent.Transcript;
            }
            catch (QemuMachineException)
            {
                // Not connected (yet): keep what was seen before, if anything.
            }
        }
    }

    /// <summary>
    /// Attaches the console log, QEMU's output, the QMP transcript (and the guest agent's, with an agent) and the failure summary to the current test, named
    /// after the class and the test (<c>Ns.Class.Test.console-log</c>) so a results folder says whose they are.
    /// </summary>
    public void Attach(IXunitTest test, Action<string> progress)
    {
        try
        {
            WriteArtifacts();
        }
        catch (IOException ex)
        {
            progress($"could not write artifacts to {artifacts.Directory}: {ex.Message}");
        }

        string prefix = AttachmentPrefix(className, test.TestCase.TestMethod?.Method.Name ?? test.TestDisplayName);
        if (Profile?.Console is not null)
        {
            Attach(prefix + "console-log", artifacts.Read(VmArtifacts.ConsoleLog), "(the console printed nothing)");
        }

        Attach(prefix + "qemu-log", artifacts.Read(VmArtifacts.QemuLog), "(QEMU printed nothing)");
        Attach(prefix + "qmp-transcript", artifacts.Read(VmArtifacts.QmpTranscript), "(no QMP messages)");
        if (Machine?.HasGuestAgent == true)
        {
            Attach(prefix + "qga-transcript", artifacts.Read(AgentTranscriptFile), "(no guest agent messages: it never connected)");
        }

        string summary = artifacts.Read(VmArtifacts.Summary);
        if (summary.Length > 0)
        {
            Attach(prefix + "vm-failure", summary, "");
        }

        static void Attach(string name, string text, string whenEmpty) =>
            TestContext.Current.AddAttachment(name, PrintableText.Of(text.Length > 0 ? text : whenEmpty), replaceExistingValue: true);
    }

    /// <summary><c>Ns.Class.Method.</c>, made safe as a file name (the runner names the attachment's file after it).</summary>
    internal static string AttachmentPrefix(string className, string testName) =>
        ArtifactsLocation.SafeName(className + "." + testName) + ".";

    internal static string DescribeExit(int? exitCode) => exitCode switch
    {
        null => "is still running",
        0 => "exited with status 0",
        < 0 => $"was killed by signal {-exitCode} ({SignalName(-exitCode.Value)})",
        _ => $"exited with status {exitCode}",
    };

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };
}
