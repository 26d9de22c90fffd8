using System.Runtime.InteropServices;

namespace Scenarios;

/// <summary>Facts a scenario reports to the harness, one line each, in the file QTK_SCENARIO_LOG names.</summary>
internal static partial class ScenarioLog
{
    private static readonly Lock Gate = new();

    public static void Append(string line)
    {
        string? path = Environment.GetEnvironmentVariable("QTK_SCENARIO_LOG");
        if (path is null)
        {
            return;
        }

        lock (Gate)
        {
            File.AppendAllText(path, line + "\n");
        }
    }

    /// <summary>Sends a signal to a process this run started (the class's own QEMU).</summary>
    public static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public const int SigKill = 9;

    public const int SigStop = 19;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>QEMU processes whose parent is this test process, read from /proc.</summary>
    public static int RunningQemuChildren()
    {
        int self = Environment.ProcessId;
        int count = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int close = stat.LastIndexOf(')');
                string comm = stat[(stat.IndexOf('(') + 1)..close];
                string[] rest = stat[(close + 2)..].Split(' ');
                // rest[0] is the state: a zombie has already exited and is only waiting to be reaped.
                if (comm.StartsWith("qemu-system", StringComparison.Ordinal) && rest[0] != "Z" && int.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture) == self)
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        return count;
    }
}
