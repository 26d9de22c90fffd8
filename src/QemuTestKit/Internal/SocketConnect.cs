using System.Net.Sockets;

namespace QemuTestKit.Internal;

/// <summary>
/// Opens the client sockets that QMP and the console use to reach QEMU. A socket whose connect fails is disposed here,
/// so callers never hold a half-open one.
/// </summary>
internal static class SocketConnect
{
    public static Task<Socket> UnixAsync(string path, CancellationToken cancellationToken) =>
        ConnectAsync(
            new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
            s => s.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken));

    // NoDelay: QMP and console messages are small and latency-bound; Nagle would hold them back.
    public static Task<Socket> TcpAsync(string host, int port, CancellationToken cancellationToken) =>
        ConnectAsync(
            new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true },
            s => s.ConnectAsync(host, port, cancellationToken));

    private static async Task<Socket> ConnectAsync(Socket socket, Func<Socket, ValueTask> connect)
    {
        try
        {
            await connect(socket).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
