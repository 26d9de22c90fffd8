using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// Marks a folder this process creates (the machine's temp folder, the short socket folder) with its owner: this
/// process's pid and start time. A test host killed by SIGKILL cannot remove its folders; the next process to launch a
/// machine removes every marked folder whose owner is gone, and never one whose owner still runs (a recycled pid has a
/// different start time, so it is not mistaken for the owner). Folders without a marker are not ours to judge and stay.
/// </summary>
internal static class OwnerMarker
{
    /// <summary>The marker's file name inside a marked folder.</summary>
    public const string FileName = ".qemutestkit-owner";

    private static readonly Lazy<string> s_self = new(() =>
        Format(Environment.ProcessId, ProcessStat.Read(Environment.ProcessId)?.StartTime ?? 0));

    // Each parent folder is swept once per process: leftovers appear only when a process dies, not during a run.
    private static readonly ConcurrentDictionary<string, bool> s_swept = new(StringComparer.Ordinal);

    /// <summary>Writes this process's marker into <paramref name="directory"/>.</summary>
    public static void Write(string directory) => File.WriteAllText(Path.Combine(directory, FileName), s_self.Value);

    /// <summary>Sweeps <paramref name="parent"/> for this process's first launch there (later calls return at once).</summary>
    public static void SweepOnce(string parent, string prefix, ILogger logger)
    {
        string key = Path.GetFullPath(parent) + "\0" + prefix;
        if (s_swept.TryAdd(key, true))
        {
            Sweep(parent, prefix, logger);
        }
    }

    /// <summary>Removes the folders <c>{parent}/{prefix}*</c> whose marker names a process that is gone; returns how many.</summary>
    public static int Sweep(string parent, string prefix, ILogger logger)
    {
        List<string> candidates;
        try
        {
            // Listed at once: enumeration errors surface here, not halfway through the loop.
            candidates = [.. Directory.EnumerateDirectories(parent, prefix + "*")];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        int removed = 0;
        foreach (string directory in candidates)
        {
            if (DeadOwner(directory) is not { } pid)
            {
                continue;
            }

            try
            {
                Directory.Delete(directory, recursive: true);
                MachineLog.SweptDirectory(logger, directory, pid);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another process swept it first, or it is not ours to delete: either way nothing to do.
            }
        }

        return removed;
    }

    /// <summary>The marker's text for the process <paramref name="pid"/> started at <paramref name="startTime"/> (clock ticks after boot).</summary>
    internal static string Format(int pid, ulong startTime) =>
        string.Create(CultureInfo.InvariantCulture, $"qemutestkit owner pid={pid} start={startTime}\n");

    /// <summary>The owner's pid when the folder's marker names a process that is gone; <see langword="null"/> otherwise.</summary>
    private static int? DeadOwner(string directory)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(directory, FileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // no marker (not ours, or being created right now)
        }

        string[] words = text.Trim().Split(' ');
        if (words.Length != 4
            || words[0] != "qemutestkit" || words[1] != "owner"
            || !words[2].StartsWith("pid=", StringComparison.Ordinal) || !int.TryParse(words[2].AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !words[3].StartsWith("start=", StringComparison.Ordinal) || !ulong.TryParse(words[3].AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
        {
            return null;
        }

        return ProcessStat.IsAlive(pid, start) ? null : pid;
    }
}
