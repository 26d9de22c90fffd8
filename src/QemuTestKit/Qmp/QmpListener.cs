using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace QemuTestKit.Qmp;

/// <summary>
/// The server side of a QMP connection: bind and listen <em>before</em> starting QEMU with
/// <c>-chardev socket,id=mon,path=…</c> (no <c>server=on</c>) <c>-mon chardev=mon,mode=control</c>, then
/// <see cref="AcceptAsync"/> QEMU's connection. Because the socket exists before QEMU starts there is no start-up race.
/// A listener accepts one connection. Disposing it closes the listening socket and removes the unix socket file.
/// </summary>
public sealed class QmpListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly string? _unixPath;
    private int _accepting;
    private int _disposed;

    private QmpListener(Socket socket, string? unixPath, string address, int? port)
    {
        _socket = socket;
        _unixPath = unixPath;
        Address = address;
        Port = port;
    }

    /// <summary>The unix socket path, or <c>host:port</c> for TCP.</summary>
    public string Address { get; }

    /// <summary>The TCP port actually bound (useful with port 0); <see langword="null"/> for a unix socket.</summary>
    public int? Port { get; }

    /// <summary>Binds and listens on the unix socket <paramref name="path"/> (which must not exist yet).</summary>
    /// <exception cref="SocketException">The path exists or cannot be bound.</exception>
    public static QmpListener ListenUnix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(1);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new QmpListener(socket, path, path, port: null);
    }

    /// <summary>Binds and listens on TCP <paramref name="host"/> (an IP address or <c>localhost</c>) and <paramref name="port"/> (0 = any free port).</summary>
    /// <exception cref="FormatException"><paramref name="host"/> is neither an IP address nor <c>localhost</c>.</exception>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static QmpListener ListenTcp(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        IPAddress address = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(1);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        int bound = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return new QmpListener(socket, unixPath: null, string.Create(CultureInfo.InvariantCulture, $"{host}:{bound}"), bound);
    }

    /// <summary>
    /// Waits for QEMU to connect, then reads the greeting and negotiates capabilities. Bound it with
    /// <paramref name="cancellationToken"/> (QEMU may die before connecting).
    /// </summary>
    /// <exception cref="InvalidOperationException">A connection was already accepted (or is being accepted).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="QmpConnectionException">No valid greeting, or the connection dropped during negotiation.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired during negotiation.</exception>
    public async Task<QmpClient> AcceptAsync(QmpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _accepting, 1) != 0)
        {
            throw new InvalidOperationException($"The QMP listener on {Address} accepts one connection, and it was already taken.");
        }

        Socket connection;
        try
        {
            connection = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing was accepted: the caller may try again.
            Volatile.Write(ref _accepting, 0);
            throw;
        }

        if (connection.ProtocolType == ProtocolType.Tcp)
        {
            connection.NoDelay = true;
        }

        return await QmpClient.StartAsync(connection, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops listening and removes the unix socket file. Idempotent; an accepted client stays open.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
            if (_unixPath is not null)
            {
                try
                {
                    File.Delete(_unixPath);
                }
                catch (IOException)
                {
                    // Already gone or replaced; nothing of ours is left to clean.
                }
            }
        }

        return ValueTask.CompletedTask;
    }
}
