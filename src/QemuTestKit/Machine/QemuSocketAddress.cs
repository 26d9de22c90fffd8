using System.Globalization;

namespace QemuTestKit;

/// <summary>A QMP monitor address (QEMUMachine's <c>monitor_address</c>): a unix socket path, or a TCP host and port.</summary>
public sealed record QemuSocketAddress
{
    private QemuSocketAddress(string? path, string? host, int port)
    {
        Path = path;
        Host = host;
        Port = port;
    }

    /// <summary>The unix socket path, or <see langword="null"/> for TCP.</summary>
    public string? Path { get; }

    /// <summary>The TCP host, or <see langword="null"/> for a unix socket.</summary>
    public string? Host { get; }

    /// <summary>The TCP port (0: any free port, chosen at launch).</summary>
    public int Port { get; }

    /// <summary>Whether this is a unix socket address.</summary>
    public bool IsUnix => Path is not null;

    /// <summary>A unix socket at <paramref name="path"/>.</summary>
    public static QemuSocketAddress Unix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new(System.IO.Path.GetFullPath(path), null, 0);
    }

    /// <summary>TCP at <paramref name="host"/> and <paramref name="port"/> (0 = any free port).</summary>
    public static QemuSocketAddress Tcp(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new(null, host, port);
    }

    /// <inheritdoc />
    public override string ToString() => Path ?? string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
