using System.Globalization;

namespace QemuTestKit.Benchmarks;

/// <summary>Counts, by polling /proc, the QEMU processes descended from one process, and keeps the peak.</summary>
internal sealed class QemuProcessWatch
{
    public int Peak { get; private set; }

    public async Task RunAsync(int ancestor, TimeSpan poll, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Peak = Math.Max(Peak, Count(ancestor));
                await Task.Delay(poll, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run ended.
        }
    }

    private static int Count(int ancestor)
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
                if (comm.StartsWith("qemu-system", StringComparison.Ordinal))
                {
                    qemus.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while being read.
            }
        }

        return qemus.Count(pid => Descends(pid, ancestor, parents));
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
