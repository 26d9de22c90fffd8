using System.Text;

namespace QemuTestKit;

/// <summary>QEMU's option syntax (<c>key=value,key=value</c>): the one place values are escaped.</summary>
internal static class QemuOptionValue
{
    /// <summary>
    /// Escapes a value for QEMU's comma-separated option syntax: a literal comma is written twice.
    /// Spaces and non-ASCII need nothing, since arguments reach QEMU as separate argv entries.
    /// </summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Replace(",", ",,", StringComparison.Ordinal);
    }

    /// <summary>Builds <c>key=value</c> with the value escaped.</summary>
    public static string Pair(string key, string value) => key + "=" + Escape(value);

    /// <summary>The length limit of a unix socket path in bytes (sun_path is 108 bytes including the terminating NUL).</summary>
    public const int MaxUnixSocketPathBytes = 107;

    public static bool FitsUnixSocketPath(string path) => Encoding.UTF8.GetByteCount(path) <= MaxUnixSocketPathBytes;
}
