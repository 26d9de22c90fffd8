using System.Globalization;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>Turns the values of one run (<see cref="SnapshotValues"/>) into a scrubber that names them.</summary>
internal static class KnownValueScrubber
{
    public static Scrubber Create(SnapshotValues values)
    {
        ArgumentNullException.ThrowIfNull(values);

        // Longest first: a socket path lies inside the socket dir, which may lie inside the temp dir.
        var paths = new List<(string Value, string Placeholder)>();
        AddPath(paths, values.MonitorSocket, "MonitorSocket");
        AddPath(paths, values.ConsoleSocket, "ConsoleSocket");
        AddPath(paths, values.QemuLog, "QemuLog");
        AddPath(paths, values.ConsoleLog, "ConsoleLog");
        AddPath(paths, values.QemuBinary, "QemuBinary");
        AddPath(paths, values.SockDir, "SockDir");
        AddPath(paths, values.LogDir, "LogDir");
        AddPath(paths, values.TempDir, "TempDir");
        foreach ((string value, string name) in values.Placeholders)
        {
            AddPath(paths, value, name.Trim('{', '}'));
        }

        var steps = paths
            .OrderByDescending(p => p.Value.Length)
            .Select(p => (Regex: Scrubber.PathRegex(p.Value), Replacement: "{" + p.Placeholder + "}"))
            .ToList();

        if (!string.IsNullOrEmpty(values.Name))
        {
            steps.Add((new Regex($@"(?<!\w){Regex.Escape(values.Name)}(?!\w)", RegexOptions.CultureInvariant), "{Name}"));
        }

        if (values.Pid is int pid)
        {
            string digits = pid.ToString(CultureInfo.InvariantCulture);
            steps.Add((new Regex($@"(?<=\bpid\b\s*[:=]?\s*){digits}(?!\d)|(?<=[\-_./]){digits}(?=[\-_./])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase), "{Pid}"));
        }

        AddPort(steps, values.MonitorPort, "{MonitorPort}");
        AddPort(steps, values.ConsolePort, "{ConsolePort}");

        // Regex.Replace treats '$' in the replacement specially; placeholders never contain it, but a
        // user-supplied name could, so escape it.
        return Scrubber.Create("known values", text =>
        {
            foreach ((Regex regex, string replacement) in steps)
            {
                text = regex.Replace(text, replacement.Replace("$", "$$", StringComparison.Ordinal));
            }

            return text;
        });
    }

    private static void AddPort(List<(Regex, string)> steps, int? port, string placeholder)
    {
        if (port is int value)
        {
            steps.Add((new Regex($@"(?<=\bport=){value.ToString(CultureInfo.InvariantCulture)}(?!\d)", RegexOptions.CultureInvariant), placeholder));
        }
    }

    private static void AddPath(List<(string, string)> paths, string? value, string placeholder)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        string trimmed = value.Length > 1 ? value.TrimEnd('/', '\\') : value;
        if (trimmed.Length > 0)
        {
            paths.Add((trimmed, placeholder));
        }
    }
}
