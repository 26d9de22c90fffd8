using System.Text.RegularExpressions;
using QemuTestKit.Internal;
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
    /// The command line a profile configures, for a snapshot a user commits: the same on every computer and with warm
    /// start on or off. It is the plan's binary, machine type and QEMU arguments, one per line, with
    /// <list type="bullet">
    /// <item>the binary as <c>{QemuBinary}</c>;</item>
    /// <item>the folder of the profile's kernel, initrd and drives as <c>{Images}</c> (<c>{Images}/vmlinuz</c>; a second
    /// folder <c>{Images_2}</c>, and so on), unless <paramref name="placeholders"/> names it;</item>
    /// <item>the accelerator as <c>{Accel}</c> when the profile says <c>auto</c> (KVM on one host, TCG on another);</item>
    /// <item>the profile's drives, never the copy-on-write layers warm start puts in their place.</item>
    /// </list>
    /// The sockets QEMU's monitor and console use are the kit's, not the profile's, and are left out.
    /// </summary>
    /// <param name="plan">The plan, e.g. <c>QemuLaunchPlan.Resolve(vm.Profile)</c>.</param>
    /// <param name="placeholders">More values to name, as in <see cref="SnapshotValues.Placeholders"/>; they win over <c>{Images}</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="plan"/> is null.</exception>
    public static string CommandLine(QemuLaunchPlan plan, IReadOnlyDictionary<string, string>? placeholders = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        QemuProfile profile = plan.Profile;
        var argv = new List<string> { plan.Binary };
        if (plan.MachineType is not null)
        {
            argv.AddRange(["-machine", plan.MachineType]);
        }

        argv.AddRange(QemuProfileArguments.Build(
            plan with { Drives = QemuLaunchPlan.WithIds(profile.Drives) },
            acceleratorText: profile.Accel == QemuAccelerator.Auto ? "{Accel}" : null));

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        IEnumerable<string> folders = new[] { profile.Kernel, profile.Initrd }.Concat(profile.Drives.Select(d => d.Path))
            .OfType<string>()
            .Select(Path.GetDirectoryName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
        foreach (string folder in folders)
        {
            names[folder] = names.Count == 0 ? "Images" : "Images_" + (names.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach ((string value, string name) in placeholders ?? new Dictionary<string, string>())
        {
            names[value] = name;
        }

        return CommandLine(argv, new SnapshotValues { QemuBinary = plan.Binary, Placeholders = names });
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
