using System.Text.RegularExpressions;

namespace QemuTestKit;

// The built-in scrubbers. Each pattern is anchored on both sides so it never eats part of a longer
// token: a MAC address is not a time of day, "x86_64" holds no duration, "-m 256M" holds no PID.
public sealed partial class Scrubber
{
    /// <summary>GUIDs in the usual 8-4-4-4-12 form (any case) become <c>{Guid_1}</c>, <c>{Guid_2}</c>, … by distinct value.</summary>
    public static Scrubber Guids { get; } = Numbered(GuidRegex(), "Guid");

    /// <summary>
    /// Timestamps become fixed placeholders: ISO 8601 date-times <c>{Timestamp}</c>, times of day <c>{Time}</c>,
    /// QMP event timestamps <c>{"seconds": …, "microseconds": …}</c> <c>{QmpTimestamp}</c>, and kernel log times
    /// <c>[    1.234567]</c> <c>[{KernelTime}]</c>. They are not numbered: whether two of them are equal depends on timing.
    /// </summary>
    public static Scrubber Timestamps { get; } = CreateWithContext("timestamps", (text, _) =>
    {
        text = QmpTimestampRegex().Replace(text, "{QmpTimestamp}");
        text = IsoTimestampRegex().Replace(text, "{Timestamp}");
        text = TimeOfDayRegex().Replace(text, "{Time}");
        return KernelTimeRegex().Replace(text, "[{KernelTime}]");
    });

    /// <summary>Durations such as <c>12.3 ms</c>, <c>1.2s</c>, <c>440795202767 ns</c> or <c>3 seconds</c> become <c>{Duration}</c>.</summary>
    public static Scrubber Durations { get; } = Pattern(DurationRegex(), "{Duration}");

    /// <summary>Memory addresses become <c>{Address}</c>: <c>0x</c> followed by 8 or more hex digits, and 16-digit kernel addresses starting with <c>ffff</c>.</summary>
    public static Scrubber HexAddresses { get; } = Pattern(HexAddressRegex(), "{Address}");

    /// <summary>Process ids after the word <c>pid</c> (<c>pid 1234</c>, <c>PID: 1234</c>, <c>pid=1234</c>) become <c>{Pid_1}</c>, <c>{Pid_2}</c>, … by distinct value.</summary>
    public static Scrubber Pids { get; } = CreateWithContext("pids", (text, context) =>
        PidRegex().Replace(text, m => m.Groups["prefix"].Value + context.Number("Pid", m.Groups["pid"].Value)));

    /// <summary>The folder of the running test assembly (<see cref="AppContext.BaseDirectory"/>, where the run manifest and staged images live) becomes <c>{BaseDirectory}</c>.</summary>
    public static Scrubber BaseDirectory { get; } = DirectoryAt(AppContext.BaseDirectory, "{BaseDirectory}");

    /// <summary>Absolute paths of unix sockets (ending in <c>.sock</c>) become <c>{Socket_1}</c>, <c>{Socket_2}</c>, … by distinct path.</summary>
    public static Scrubber SocketPaths { get; } = Numbered(SocketPathRegex(), "Socket");

    /// <summary>
    /// A directory directly under the temp folder (<see cref="Path.GetTempPath"/>, <c>/tmp</c>, <c>/var/tmp</c>)
    /// becomes <c>{TempDir_1}</c>, <c>{TempDir_2}</c>, … by distinct name; what follows it is kept
    /// (<c>/tmp/qemu-machine-x1y2/vm.log</c> → <c>{TempDir_1}/vm.log</c>).
    /// </summary>
    public static Scrubber TempPaths { get; } = TempPathsUnder([Path.GetTempPath(), "/tmp", "/var/tmp"]);

    /// <summary>
    /// The current user's home directory becomes <c>{Home}</c> when it is at least two folders deep (<c>/home/ann</c>,
    /// <c>C:\Users\ann</c>). A top-level home such as root's <c>/root</c> is left alone: the same path appears inside
    /// guests, and scrubbing it only on computers where tests run as root would make snapshots differ between computers.
    /// </summary>
    public static Scrubber HomeDirectory { get; } = HomeDirectoryAt(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>
    /// This computer's name (<see cref="Environment.MachineName"/>) becomes <c>{MachineName}</c> where it is a whole
    /// word. Not in <see cref="Defaults"/>: a short or common host name would also replace ordinary words.
    /// </summary>
    public static Scrubber MachineName { get; } = WholeWord(Environment.MachineName, "{MachineName}", "machine name");

    /// <summary>
    /// The current user's name (<see cref="Environment.UserName"/>) becomes <c>{UserName}</c> where it is a whole
    /// word. Not in <see cref="Defaults"/>: a user named <c>root</c> would also turn <c>root=/dev/vda</c> into <c>{UserName}=/dev/vda</c>.
    /// </summary>
    public static Scrubber UserName { get; } = WholeWord(Environment.UserName, "{UserName}", "user name");

    /// <summary>
    /// The scrubbers applied to every snapshot after the caller's own, in this order: <see cref="Guids"/>,
    /// <see cref="Timestamps"/>, <see cref="Durations"/>, <see cref="HexAddresses"/>, <see cref="Pids"/>,
    /// <see cref="BaseDirectory"/>, <see cref="SocketPaths"/>, <see cref="TempPaths"/>, <see cref="HomeDirectory"/>.
    /// </summary>
    public static IReadOnlyList<Scrubber> Defaults { get; } =
        [Guids, Timestamps, Durations, HexAddresses, Pids, BaseDirectory, SocketPaths, TempPaths, HomeDirectory];

    internal static Scrubber TempPathsUnder(IEnumerable<string> roots)
    {
        string alternatives = string.Join('|', roots
            .Select(root => root.TrimEnd('/', '\\'))
            .Where(root => root.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(root => root.Length)
            .Select(Regex.Escape));
        var regex = new Regex($@"(?<![\w.\-/\\}}])(?:{alternatives})[/\\][^\s/\\,;'""=:]+", RegexOptions.CultureInvariant);
        return Numbered(regex, "TempDir");
    }

    internal static Scrubber HomeDirectoryAt(string home)
    {
        int depth = home.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries).Count(part => !part.EndsWith(':'));
        return depth >= 2 ? DirectoryAt(home, "{Home}") : Create("home directory", text => text);
    }

    internal static Scrubber DirectoryAt(string directory, string placeholder)
    {
        directory = directory.TrimEnd('/', '\\');
        if (directory.Length <= 1)
        {
            return Create(placeholder, text => text);
        }

        return Pattern(PathRegex(directory), placeholder);
    }

    /// <summary>Matches <paramref name="path"/> only as a whole path: not inside a longer name, not below another folder.</summary>
    internal static Regex PathRegex(string path) =>
        new($@"(?<![\w.\-/\\}}]){Regex.Escape(path)}(?![\w.\-])", RegexOptions.CultureInvariant);

    private static Scrubber WholeWord(string word, string placeholder, string name)
    {
        if (string.IsNullOrWhiteSpace(word))
        {
            return Create(name, text => text);
        }

        var regex = new Regex($@"(?<![\w\-]){Regex.Escape(word)}(?![\w\-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
        return Pattern(regex, placeholder);
    }

    [GeneratedRegex(@"(?<![0-9A-Fa-f\-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f\-])", RegexOptions.CultureInvariant)]
    private static partial Regex GuidRegex();

    [GeneratedRegex(@"\{\s*""seconds""\s*:\s*\d+\s*,\s*""microseconds""\s*:\s*\d+\s*\}|\{\s*""microseconds""\s*:\s*\d+\s*,\s*""seconds""\s*:\s*\d+\s*\}", RegexOptions.CultureInvariant)]
    private static partial Regex QmpTimestampRegex();

    [GeneratedRegex(@"(?<![\w\-])\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+\-]\d{2}:?\d{2}(?![\d:]))?(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex IsoTimestampRegex();

    [GeneratedRegex(@"(?<![\w:.])\d{1,2}:\d{2}:\d{2}(?:\.\d{1,9})?(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex TimeOfDayRegex();

    [GeneratedRegex(@"\[\s*\d+\.\d{6}\]", RegexOptions.CultureInvariant)]
    private static partial Regex KernelTimeRegex();

    [GeneratedRegex(@"(?<![\w.])\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|secs?|seconds?|min|minutes?)(?![\w])", RegexOptions.CultureInvariant)]
    private static partial Regex DurationRegex();

    [GeneratedRegex(@"(?<![\w])0x[0-9A-Fa-f]{8,}(?![\w])|(?<![0-9A-Fa-f])ffff[0-9a-f]{12}(?![0-9A-Fa-f])", RegexOptions.CultureInvariant)]
    private static partial Regex HexAddressRegex();

    [GeneratedRegex(@"(?<prefix>\bpid\b\s*[:=]?\s*)(?<pid>\d+)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PidRegex();

    [GeneratedRegex(@"(?<![\w.\-/\\}])(?:/[^\s/,;'""=:]+)+\.sock(?![\w.\-])", RegexOptions.CultureInvariant)]
    private static partial Regex SocketPathRegex();
}
