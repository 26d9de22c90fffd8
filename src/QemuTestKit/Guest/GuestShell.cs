using System.Globalization;

namespace QemuTestKit.Guest;

/// <summary>Text for the guest's POSIX shell (busybox ash on the tiny guest).</summary>
internal static class GuestShell
{
    /// <summary>One shell word, single-quoted: nothing inside is expanded.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// A subshell that runs <paramref name="check"/> until it succeeds or <paramref name="timeout"/> passes on the
    /// guest's clock, sleeping 0.2 s between the first tries and 1 s after, and exits with the last check's status. The
    /// loop runs in the guest, so the console carries one command and one answer however long the wait is.
    /// </summary>
    public static string RetryLoop(string check, TimeSpan timeout)
    {
        long seconds = Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds));
        return string.Create(CultureInfo.InvariantCulture,
            $"(e=$(($(date +%s)+{seconds})); n=0; until {check}; do [ $(date +%s) -ge $e ] && break; n=$((n+1)); if [ $n -lt 10 ]; then sleep 0.2; else sleep 1; fi; done; {check})");
    }

    /// <summary>A check that succeeds when something listens on guest TCP <paramref name="port"/> (IPv4 or IPv6).</summary>
    public static string ListeningCheck(int port) => string.Create(CultureInfo.InvariantCulture,
        $"grep -qE '^ *[0-9]+: [0-9A-F]+:{port:X4} [0-9A-F]+:[0-9A-F]+ 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null");
}
