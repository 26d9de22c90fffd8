using System.Globalization;

namespace QemuTestKit.Containers;

/// <summary>
/// Identifies this test process well enough to tell, later and from another process, whether it is still alive:
/// host (name and boot id, so a reboot makes every old owner stale), PID, and the PID's start time (so a recycled
/// PID does not look alive).
/// </summary>
internal static class OwnerProcess
{
    public static readonly string SessionId = Guid.NewGuid().ToString("N")[..12];

    public static string HostId { get; } = ReadHostId();

    public static string Current { get; } = Format(Environment.ProcessId);

    public static string Format(int pid) => $"{HostId}/{pid.ToString(CultureInfo.InvariantCulture)}/{StartTicks(pid) ?? "?"}";

    /// <summary>
    /// Whether <paramref name="owner"/> (a label value) names a process of this host that no longer runs.
    /// Owners on other hosts are never stale from here: only their own host can judge them.
    /// </summary>
    public static bool IsStale(string owner)
    {
        string[] parts = owner.Split('/');
        if (parts.Length != 3 || parts[0] != HostId || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out int pid))
        {
            return false;
        }

        string? ticks = StartTicks(pid);
        return ticks is null || ticks != parts[2];
    }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat: the start time in clock ticks since boot; null when the PID is gone.</summary>
    private static string? StartTicks(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return rest.Length > 19 ? rest[19] : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ReadHostId()
    {
        string boot = "";
        try
        {
            boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim()[..8];
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return $"{Environment.MachineName}:{boot}";
    }
}
