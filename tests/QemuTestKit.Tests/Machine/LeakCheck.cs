namespace QemuTestKit.Tests.Machine;

/// <summary>
/// Records what a launched machine owns (QEMU's PID and every process of its process group, such as the orphan watchdog
/// or a wrapper's QEMU; temp and socket folders, socket files) and asserts, after shutdown, that none of it is left: no
/// process with those PIDs (not even a zombie), no folder, no socket.
/// </summary>
internal sealed class LeakCheck
{
    private readonly List<int> _pids = [];
    private readonly List<string> _paths = [];

    /// <summary>Call right after launch.</summary>
    public void Record(QemuMachine machine)
    {
        Assert.True(machine.IsRunning, "the machine should run when recorded");
        int pid = machine.Pid ?? throw new InvalidOperationException("no pid");
        _pids.Add(pid);
        _pids.AddRange(GroupMembers(pid).Where(member => member != pid));
        _paths.Add(machine.TempDir);
        _paths.Add(machine.SockDir);
        _paths.AddRange(Directory.EnumerateFiles(machine.SockDir, machine.Name + "*"));
    }

    public IReadOnlyList<int> Pids => _pids;

    /// <summary>Asserts nothing recorded is left; waits briefly, since the kernel removes a reaped process asynchronously.</summary>
    public async Task AssertNothingLeftAsync()
    {
        DateTime until = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < until && (_pids.Any(ProcessExists) || _paths.Any(PathExists)))
        {
            await Task.Delay(50);
        }

        foreach (int pid in _pids)
        {
            Assert.False(ProcessExists(pid), $"pid {pid} (QEMU or a process of its group) is still there: {Describe(pid)}");
        }

        foreach (string path in _paths)
        {
            Assert.False(PathExists(path), $"'{path}' was left behind");
        }
    }

    public static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>PIDs of the processes in process group <paramref name="processGroup"/>.</summary>
    public static IReadOnlyList<int> GroupMembers(int processGroup)
    {
        var result = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid) && ProcessStatFields(pid) is { } fields
                && int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) == processGroup)
            {
                result.Add(pid);
            }
        }

        return result;
    }

    /// <summary>PIDs of live QEMU processes whose parent is <paramref name="parentPid"/>.</summary>
    public static IReadOnlyList<int> QemuChildrenOf(int parentPid)
    {
        var result = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string comm = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (comm.StartsWith("qemu-system", StringComparison.Ordinal) && int.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture) == parentPid && rest[0] != "Z")
                {
                    result.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    /// <summary>Whether the process is gone or a zombie nobody reaped (which is a leak too, so only "gone" passes).</summary>
    private static string Describe(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return "(gone)";
        }
    }

    private static bool PathExists(string path) => Directory.Exists(path) || File.Exists(path);

    /// <summary>The fields of /proc/&lt;pid&gt;/stat after the command name (state first), or null when the process is gone.</summary>
    private static string[]? ProcessStatFields(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }
}
