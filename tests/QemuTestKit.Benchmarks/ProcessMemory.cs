using System.Globalization;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// A process's memory from <c>/proc/&lt;pid&gt;/smaps_rollup</c>, in KiB: RSS, PSS (shared pages divided among the
/// processes that map them) and USS (pages only this process maps: Private_Clean + Private_Dirty).
/// </summary>
internal sealed record ProcessMemory(long RssKib, long PssKib, long UssKib)
{
    public static ProcessMemory Read(int pid)
    {
        var fields = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0].EndsWith(':') && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
            {
                fields[parts[0].TrimEnd(':')] = kib;
            }
        }

        return new ProcessMemory(fields["Rss"], fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]);
    }

    public static ProcessMemory Sum(IEnumerable<ProcessMemory> all) =>
        all.Aggregate(new ProcessMemory(0, 0, 0), (a, b) => new ProcessMemory(a.RssKib + b.RssKib, a.PssKib + b.PssKib, a.UssKib + b.UssKib));
}
