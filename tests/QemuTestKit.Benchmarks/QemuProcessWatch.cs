using System.Globalization;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Counts, by polling /proc, the QEMU processes descended from one process, and keeps the peaks: of all of them, and of
/// VMs (a QEMU with a <c>-chardev</c>, which the kit's machines have for QMP; its short probes, <c>--version</c> and the
/// KVM check, have none). Zombies (exited, not yet reaped) are not counted.
/// </summary>
internal sealed class QemuProcessWatch
{
    public int Peak { get; private set; }

    public int PeakVms { get; private set; }

    public async Task RunAsync(int ancestor, TimeSpan poll, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                (int all, int vms) = Count(ancestor);
                Peak = Math.Max(Peak, all);
                PeakVms = Math.Max(PeakVms, vms);
                await Task.Delay(poll, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run ended.
        }
    }

    private static (int All, int Vms) Count(int ancestor)
    {
        var parents = new Dictionary<int, int>();
        var qemus = new List<int>();
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
                    qemus.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while being read.
            }
        }

        List<int> ours = [.. qemus.Where(pid => Descends(pid, ancestor, parents))];
        return (ours.Count, ours.Count(IsVm));
    }

    private static bool IsVm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains("-chardev");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
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
