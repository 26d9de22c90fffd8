using System.Text.RegularExpressions;
using QemuTestKit.Qmp;

namespace QemuTestKit;

/// <summary>
/// Stable text forms of what a machine run produces — its command line, console log, QEMU's own log and
/// the QMP transcript — for snapshot tests: the same configuration gives the same text on any computer.
/// </summary>
/// <remarks>
/// Every form replaces the values in <see cref="SnapshotValues"/> with named placeholders first, then
/// applies built-in scrubbers. The logs and the transcript get all of <see cref="Scrubber.Defaults"/>;
/// the command line only the path and id scrubbers, so that a fixed date or duration a profile sets stays visible.
/// </remarks>
public static partial class SnapshotText
{
    private static readonly Scrubber[] s_commandLineScrubbers =
        [Scrubber.Guids, Scrubber.BaseDirectory, Scrubber.SocketPaths, Scrubber.TempPaths, Scrubber.HomeDirectory];

    private static readonly Scrubber s_qmpVersion = Scrubber.Create("QEMU version", text =>
    {
        text = QmpPackageRegex().Replace(text, "\"package\": \"{QemuPackage}\"");
        return QmpVersionRegex().Replace(text, "\"qemu\": {QemuVersion}");
    });

    /// <summary>
    /// The command line one argument per line, an option and its value on one line (<c>-m 256</c>), a
    /// wrapper's arguments first, with temp, socket and log paths, the binary, the name and PIDs as placeholders.
    /// </summary>
    /// <param name="commandLine">The full command line: wrapper (if any), binary, then QEMU's arguments.</param>
    /// <param name="values">What this run knows about itself; without it only generic scrubbers apply.</param>
    /// <exception cref="ArgumentNullException"><paramref name="commandLine"/> is null.</exception>
    public static string CommandLine(IReadOnlyList<string> commandLine, SnapshotValues? values = null)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        int binary = CommandLineLayout.FindBinary(commandLine, values?.QemuBinary);
        string text = string.Join('\n', CommandLineLayout.Lines(commandLine, binary));
        return Finish(Scrubber.Apply(text, WithValues(values, s_commandLineScrubbers)));
    }

    /// <summary>
    /// The command line of a running machine, as <see cref="CommandLine(IReadOnlyList{string}, SnapshotValues?)"/>
    /// with the machine's own values (<see cref="SnapshotValues.FromMachine"/>).
    /// </summary>
    /// <param name="machine">A launched, running machine.</param>
    /// <param name="placeholders">More values to name, as in <see cref="SnapshotValues.Placeholders"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="machine"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The machine is not running.</exception>
    public static string CommandLine(QemuMachine machine, IReadOnlyDictionary<string, string>? placeholders = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        return CommandLine(machine.CommandLine, SnapshotValues.FromMachine(machine, placeholders));
    }

    /// <summary>
    /// The console output without terminal control sequences (busybox's cursor queries, colours), with
    /// <c>\n</c> line ends, no trailing spaces, and timestamps, durations, addresses, PIDs and ids scrubbed.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string ConsoleLog(string text, SnapshotValues? values = null) => Log(text, values);

    /// <summary>
    /// QEMU's own output (its stdout and stderr, e.g. <see cref="QemuMachine.Log"/>), normalized and scrubbed like
    /// <see cref="ConsoleLog"/>; null (no log yet) gives an empty text.
    /// </summary>
    public static string QemuLog(string? text, SnapshotValues? values = null) => Log(text ?? "", values);

    /// <summary>
    /// A QMP transcript, normalized and scrubbed like <see cref="ConsoleLog"/>, with QEMU's version in the
    /// greeting and in <c>query-version</c> replies replaced (<c>{QemuVersion}</c>, <c>{QemuPackage}</c>):
    /// a QEMU upgrade is not a change of the machine's configuration.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="transcript"/> is null.</exception>
    public static string QmpTranscript(string transcript, SnapshotValues? values = null)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        return Finish(Scrubber.Apply(ConsoleText.Clean(transcript), WithValues(values, [s_qmpVersion, .. Scrubber.Defaults])));
    }

    /// <summary>A QMP client's transcript (<see cref="QmpClient.Transcript"/>), as <see cref="QmpTranscript(string, SnapshotValues?)"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="transcript"/> is null.</exception>
    public static string QmpTranscript(QemuTestKit.Qmp.QmpTranscript transcript, SnapshotValues? values = null)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        return QmpTranscript(transcript.ToString(), values);
    }

    private static string Log(string text, SnapshotValues? values)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Finish(Scrubber.Apply(ConsoleText.Clean(text), WithValues(values, Scrubber.Defaults)));
    }

    private static IEnumerable<Scrubber> WithValues(SnapshotValues? values, IEnumerable<Scrubber> scrubbers) =>
        values is null ? scrubbers : scrubbers.Prepend(KnownValueScrubber.Create(values));

    // Trailing spaces and blank trailing lines are invisible in review and stripped by editors.
    private static string Finish(string text)
    {
        string[] lines = text.Split('\n');
        return string.Join('\n', lines.Select(line => line.TrimEnd(' ', '\t'))).TrimEnd('\n');
    }

    [GeneratedRegex(@"""package""\s*:\s*""[^""]*""", RegexOptions.CultureInvariant)]
    private static partial Regex QmpPackageRegex();

    [GeneratedRegex(@"""qemu""\s*:\s*\{[^{}]*\}", RegexOptions.CultureInvariant)]
    private static partial Regex QmpVersionRegex();
}
