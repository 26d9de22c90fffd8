using System.Globalization;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Counts, by polling /proc, the QEMU processes descended from one process, and keeps the peaks: of all of them, and of
/// VMs (a QEMU with a <c>-chardev</c>, which the kit's machines have for QMP; its short probes, <c>--version</c> and the
/// KVM check, have none). Zombies (exited, not yet reaped) are not counted, nor a QEMU's own child between its fork
/// and exec (a save's <c>exec:cat</c>, or a restore's where the state cannot be passed as a descriptor): for that moment it
/// is a copy of QEMU with QEMU's name and arguments.
/// </summary>
internal sealed class QemuProcessWatch
{
    public int Peak { get; private set; }

    public int PeakVms { get; private set; }

    /// <summary>The VMs seen when <see cref="PeakVms"/> was first reached: pid, state, and the arguments that tell them apart.</summary>
    public IReadOnlyList<string> PeakVmSample { get; private set; } = [];

    public async Task RunAsync(int ancestor, TimeSpan poll, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                (int all, List<string> vms) = Count(ancestor);
                Peak = Math.Max(Peak, all);
                if (vms.Count > PeakVms)
                {
                    PeakVms = vms.Count;
                    PeakVmSample = vms;
                }
                await Task.Delay(poll, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run ended.
        }
    }

    private static (int All, List<string> Vms) Count(int ancestor)
    {
        var parents = new Dictionary<int, int>();
        var qemus = new List<(int Pid, string State)>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int close = stat.LastIndexOf(')');
                string comm = stat[(stat.IndexOf('(') + 1)..close];
                string[] rest = stat[(close + 2)..].Split(' ');
                parents[pid] = int.Parse(rest[1], CultureInfo.InvariantCulture);
                if (comm.StartsWith("qemu-system", StringComparison.Ordinal) && rest[0] != "Z")
                {
                    qemus.Add((pid, rest[0]));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while being read.
            }
        }

        var qemuPids = qemus.Select(q => q.Pid).ToHashSet();
        List<(int Pid, string State)> ours = [.. qemus.Where(q => Descends(q.Pid, ancestor, parents) && !qemuPids.Contains(parents[q.Pid]))];
        return (ours.Count, [.. ours.Select(q => (q.Pid, q.State, Arguments: Arguments(q.Pid))).Where(q => q.Arguments.Contains("-chardev")).Select(Describe)]);
    }

    private static string[] Arguments(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Pid, state, parent chain aside: restored or not, and its socket folder (which names the machine).</summary>
    private static string Describe((int Pid, string State, string[] Arguments) qemu)
    {
        string chardev = qemu.Arguments.SkipWhile(a => a != "-chardev").Skip(1).FirstOrDefault() ?? "";
        string incoming = qemu.Arguments.Contains("-incoming") ? "restored" : "booted";
        return $"pid {qemu.Pid} state {qemu.State} {incoming} {chardev}";
    }

    private static bool Descends(int pid, int ancestor, Dictionary<int, int> parents)
    {
        for (int hops = 0; hops < 64 && parents.TryGetValue(pid, out int parent) && parent > 1; hops++)
        {
            if (parent == ancestor)
            {
                return true;
            }

            pid = parent;
        }

        return false;
    }
}
