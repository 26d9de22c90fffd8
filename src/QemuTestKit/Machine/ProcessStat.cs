using System.Globalization;

namespace QemuTestKit;

/// <summary>
/// One reading of <c>/proc/&lt;pid&gt;/stat</c>: the scheduler state (R, S, D, T, t, Z, …) and the start time, which
/// together with the pid names a process uniquely (a recycled pid has a later start time).
/// </summary>
internal readonly record struct ProcessStat(int Pid, char State, ulong StartTime)
{
    /// <summary>Whether the process is stopped by a signal (T) or by a tracer (t): it runs no code until SIGCONT.</summary>
    public bool IsStopped => State is 'T' or 't';

    /// <summary>Whether the process is gone for practical purposes: a zombie (Z) or dead (X).</summary>
    public bool IsDead => State is 'Z' or 'X';

    /// <summary>The state in words with its letter, e.g. <c>stopped (T)</c>.</summary>
    public string StateText => State switch
    {
        'R' => "running (R)",
        'S' => "sleeping (S)",
        'D' => "in uninterruptible wait, usually disk I/O (D)",
        'T' => "stopped (T)",
        't' => "stopped by a tracer (t)",
        'Z' => "a zombie (Z)",
        'X' => "dead (X)",
        'I' => "idle (I)",
        _ => $"in state {State}",
    };

    /// <summary>
    /// Whether the process <paramref name="pid"/> that started at <paramref name="startTime"/> still runs: not gone, not a
    /// zombie, and not another process that reused the pid (its start time differs).
    /// </summary>
    public static bool IsAlive(int pid, ulong startTime) => Read(pid) is { IsDead: false } stat && stat.StartTime == startTime;

    /// <summary>Reads the process's stat line; <see langword="null"/> when there is no such process (or /proc is not there).</summary>
    public static ProcessStat? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return Parse(pid, text);
    }

    /// <summary>Parses a stat line; the command name may hold spaces and parentheses, so fields count from the last ')'.</summary>
    public static ProcessStat? Parse(int pid, string text)
    {
        int close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        // After ") ": field 3 (state) is index 0, field 22 (starttime) is index 19.
        string[] fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0].Length != 1 || !ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
        {
            return null;
        }

        return new ProcessStat(pid, fields[0][0], start);
    }
}
