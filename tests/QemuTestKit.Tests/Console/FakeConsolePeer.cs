using System.Net;
using System.Net.Sockets;
using System.Text;

namespace QemuTestKit.Tests.Console;

/// <summary>A QemuConsole connected over loopback TCP to a socket the test drives as the "guest".</summary>
internal sealed class FakeConsolePeer : IAsyncDisposable
{
    private FakeConsolePeer(QemuConsole console, Socket guest)
    {
        Console = console;
        Guest = guest;
    }

    public QemuConsole Console { get; }

    public Socket Guest { get; }

    public static async Task<FakeConsolePeer> StartAsync(QemuConsoleOptions? options = null)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Task<QemuConsole> connect = QemuConsole.ConnectAsync("127.0.0.1", port, options);
        Socket guest = await listener.AcceptAsync();
        return new FakeConsolePeer(await connect, guest);
    }

    public Task WriteAsync(string text) => Guest.SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Reads what the console sent, up to and including <paramref name="terminator"/>.</summary>
    public async Task<string> ReadUntilAsync(string terminator, CancellationToken cancellationToken)
    {
        var received = new StringBuilder();
        byte[] one = new byte[1];
        while (!received.ToString().EndsWith(terminator, StringComparison.Ordinal))
        {
            int n = await Guest.ReceiveAsync(one, cancellationToken);
            if (n == 0)
            {
                break;
            }

            received.Append((char)one[0]);
        }

        return received.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await Console.DisposeAsync();
        Guest.Dispose();
    }
}
