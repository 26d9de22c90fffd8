using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace QemuTestKit.Containers;

/// <summary>
/// The host end of a streams container's channels, all inside the Docker API connection: QMP over the container's
/// attached stdio (relayed to the machine's QMP socket, which it listens on before the launch, as with a local QEMU),
/// QEMU's output over the attached stderr (into the log file), and each connection to a socket QEMU serves (the
/// console, the guest agent) over an exec session that joins that socket in the container. Nothing listens on a TCP
/// port, here or in the container.
/// </summary>
internal sealed partial class ContainerChannels : IAsyncDisposable
{
    private readonly IDockerClient _client;
    private readonly string _containerId;
    private readonly MultiplexedStream _attach;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private readonly List<Socket> _sockets = []; // also the lock for _pumps: the accept loops add to both
    private readonly List<Task> _pumps = [];
    private readonly List<(Socket Listener, string Path)> _listeners = [];
    private int _disposed;

    private ContainerChannels(IDockerClient client, string containerId, MultiplexedStream attach, ILogger logger)
    {
        _client = client;
        _containerId = containerId;
        _attach = attach;
        _logger = logger;
    }

    /// <summary>Ends when QEMU's output (the container's stderr) ends, that is when the container has exited.</summary>
    public Task Output { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Attaches to the created (not yet started) container <paramref name="containerId"/>: stdin, stdout, stderr.
    /// Holding this stream is what keeps QEMU alive: when it ends, the supervisor kills QEMU.
    /// </summary>
    public static async Task<ContainerChannels> AttachAsync(IDockerClient client, string containerId, ILogger logger, CancellationToken cancellationToken)
    {
        MultiplexedStream attach = await client.Containers.AttachContainerAsync(
            containerId,
            new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true },
            cancellationToken).ConfigureAwait(false);
        return new ContainerChannels(client, containerId, attach, logger);
    }

    /// <summary>
    /// Starts relaying: the container's stdout to the machine's QMP socket at <paramref name="monitorPath"/> (none: QMP
    /// is off), its stderr into <paramref name="logPath"/>; a listener at each of <paramref name="servedPaths"/> (the
    /// unix sockets QEMU serves in the container at the same paths: console, guest agent) for the machine's connections.
    /// Then sends the go line, and the supervisor starts QEMU.
    /// </summary>
    public async Task StartAsync(string? monitorPath, IReadOnlyList<string> servedPaths, string logPath, CancellationToken cancellationToken)
    {
        Socket? qmp = null;
        if (monitorPath is not null)
        {
            // The machine listens already: this connect is QEMU's connect, made on QEMU's behalf before QEMU runs.
            qmp = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _sockets.Add(qmp);
            await qmp.ConnectAsync(new UnixDomainSocketEndPoint(monitorPath), cancellationToken).ConfigureAwait(false);
        }

        foreach (string path in servedPaths)
        {
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listeners.Add((listener, path));
            File.Delete(path);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(4);
            _pumps.Add(AcceptAsync(listener, path, _closing.Token));
        }

        await _attach.WriteAsync(System.Text.Encoding.ASCII.GetBytes(ContainerSupervisor.Go), 0, ContainerSupervisor.Go.Length, cancellationToken).ConfigureAwait(false);
        Output = DemultiplexAsync(_attach, qmp, logPath, _closing.Token);
        if (qmp is not null)
        {
            _pumps.Add(PumpAsync(qmp, _attach, closeWhenDone: false, _closing.Token));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        foreach ((Socket listener, string path) in _listeners)
        {
            listener.Dispose();
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The machine's clean-up may have removed the folder first.
            }
        }

        Task[] pumps;
        lock (_sockets)
        {
            foreach (Socket socket in _sockets)
            {
                socket.Dispose();
            }

            pumps = [.. _pumps, Output];
        }

        // Ending the attach stream closes the container's stdin: the supervisor then kills QEMU, if it still runs.
        _attach.Dispose();
        try
        {
            await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The pumps end on their own once their streams are gone; their errors are the disposal itself.
        }

        _closing.Dispose();
    }

    /// <summary>Relays each connection to <paramref name="listener"/> into QEMU's socket at <paramref name="path"/> in the container.</summary>
    private async Task AcceptAsync(Socket listener, string path, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                Socket connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                lock (_sockets)
                {
                    _sockets.Add(connection);
                }

                ContainerExecCreateResponse exec = await _client.Exec.CreateContainerExecAsync(
                    _containerId,
                    new ContainerExecCreateParameters { AttachStdin = true, AttachStdout = true, AttachStderr = true, Cmd = [.. ContainerSupervisor.SocketRelay(path)] },
                    cancellationToken).ConfigureAwait(false);
                MultiplexedStream stream = await _client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), cancellationToken).ConfigureAwait(false);
                lock (_sockets)
                {
                    _pumps.Add(RelayAsync(connection, stream, cancellationToken));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or DockerApiException or IOException or HttpRequestException)
        {
            LogListenerClosed(_logger, ex, path, _containerId[..12]);
        }
    }

    private async Task RelayAsync(Socket connection, MultiplexedStream exec, CancellationToken cancellationToken)
    {
        using (exec)
        {
            Task toGuest = PumpAsync(connection, exec, closeWhenDone: true, cancellationToken);
            await DemultiplexAsync(exec, connection, logPath: null, cancellationToken).ConfigureAwait(false);
            await toGuest.ConfigureAwait(false);
        }
    }

    /// <summary>Copies what the machine writes to <paramref name="from"/> into the stream's stdin.</summary>
    private async Task PumpAsync(Socket from, MultiplexedStream to, bool closeWhenDone, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                await to.WriteAsync(buffer, 0, read, cancellationToken).ConfigureAwait(false);
            }

            if (closeWhenDone)
            {
                to.CloseWrite();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
            LogPumpEnded(_logger, ex, _containerId[..12]);
        }
    }

    /// <summary>
    /// Copies the stream's stdout to <paramref name="stdout"/> and its stderr to <paramref name="logPath"/> (none: to
    /// <paramref name="stdout"/> too) until it ends, then tells <paramref name="stdout"/>'s reader that its peer is gone.
    /// </summary>
    private async Task DemultiplexAsync(MultiplexedStream from, Socket? stdout, string? logPath, CancellationToken cancellationToken)
    {
        FileStream? log = logPath is null
            ? null
            : new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                MultiplexedStream.ReadResult read = await from.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
                if (read.EOF)
                {
                    break;
                }

                if (read.Target == MultiplexedStream.TargetStream.StandardError && log is not null)
                {
                    await log.WriteAsync(buffer.AsMemory(0, read.Count), cancellationToken).ConfigureAwait(false);
                    await log.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                else if (stdout is not null)
                {
                    await stdout.SendAsync(buffer.AsMemory(0, read.Count), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException or HttpRequestException)
        {
            LogPumpEnded(_logger, ex, _containerId[..12]);
        }
        finally
        {
            if (log is not null)
            {
                await log.DisposeAsync().ConfigureAwait(false);
            }

            try
            {
                stdout?.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Closed already by the machine or by disposal.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A relay of QEMU container {Id} ended")]
    private static partial void LogPumpEnded(ILogger logger, Exception exception, string id);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The listener at {Path} for QEMU container {Id} closed")]
    private static partial void LogListenerClosed(ILogger logger, Exception exception, string path, string id);
}
