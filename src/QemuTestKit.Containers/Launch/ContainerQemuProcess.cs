using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Containers;
using Microsoft.Extensions.Logging;

namespace QemuTestKit.Containers;

/// <summary>
/// QEMU running as the main process of a container. The container's exit is QEMU's exit (a signal shows as 128+n,
/// as a shell reports it, and is mapped back to <see cref="Signal"/>); the container's output is QEMU's output and is
/// streamed into the machine's log file. Disposing kills a container that still runs and removes it.
/// </summary>
internal sealed partial class ContainerQemuProcess : IQemuProcess
{
    private static readonly TimeSpan s_logDrainTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_disposeExitTimeout = TimeSpan.FromSeconds(30);

    private readonly IContainer _container;
    private readonly IDockerClient _client;
    private readonly string _logPath;
    private readonly ILogger _logger;
    private readonly Func<int, DnsEndPoint> _resolveTcpEndpoint;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    private ContainerQemuProcess(IContainer container, IDockerClient client, string logPath, ILogger logger, Func<int, DnsEndPoint> resolveTcpEndpoint)
    {
        _container = container;
        _client = client;
        _logPath = logPath;
        _logger = logger;
        _resolveTcpEndpoint = resolveTcpEndpoint;
    }

    /// <summary>The container's id.</summary>
    public string ContainerId => _container.Id;

    /// <summary>Always <see langword="null"/>: QEMU's PID is in the container's namespace, not this host's.</summary>
    public int? Pid => null;

    public bool HasExited => _exited.Task.IsCompleted;

    public int? ExitCode { get; private set; }

    public int? Signal { get; private set; }

    /// <summary>Starts watching <paramref name="container"/> (already started): its output into <paramref name="logPath"/>, its exit.</summary>
    public static ContainerQemuProcess Watch(IContainer container, IDockerClient client, string logPath, ILogger logger, Func<int, DnsEndPoint> resolveTcpEndpoint)
    {
        var process = new ContainerQemuProcess(container, client, logPath, logger, resolveTcpEndpoint);
        _ = process.WatchAsync();
        return process;
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _exited.Task.WaitAsync(cancellationToken);

    public Task KillAsync(CancellationToken cancellationToken = default) => SendSignalAsync("KILL", cancellationToken);

    /// <summary>
    /// Sends <paramref name="signal"/> (a name such as <c>STOP</c> or a number) to QEMU, the container's main process;
    /// does nothing once the container has exited.
    /// </summary>
    public async Task SendSignalAsync(string signal, CancellationToken cancellationToken = default)
    {
        if (HasExited)
        {
            return;
        }

        try
        {
            await _client.Containers.KillContainerAsync(_container.Id, new ContainerKillParameters { Signal = signal }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            // Gone already: what a kill wants.
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // "is not running": it exited between the check and the request.
        }
    }

    public DnsEndPoint ResolveTcpEndpoint(int port) => _resolveTcpEndpoint(port);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!HasExited)
            {
                await KillAsync().ConfigureAwait(false);
                try
                {
                    await _exited.Task.WaitAsync(s_disposeExitTimeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    LogExitTimeout(_logger, _container.Id[..12]);
                }
            }
        }
        finally
        {
            await _disposing.CancelAsync().ConfigureAwait(false);
            await RemoveAsync(_container, _client).ConfigureAwait(false);
            _client.Dispose();
            _disposing.Dispose();
            LogRemoved(_logger, _container.Id[..12]);
        }
    }

    /// <summary>
    /// Disposes the Testcontainers handle and removes the container: without the reaper (and with clean-up off, so
    /// Testcontainers never needs the reaper) disposing only stops it.
    /// </summary>
    internal static async Task RemoveAsync(IContainer container, IDockerClient client)
    {
        string id = container.Id;
        await container.DisposeAsync().ConfigureAwait(false);
        if (string.IsNullOrEmpty(id))
        {
            return;
        }

        try
        {
            await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            // Already gone.
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // "removal already in progress".
        }
    }

    private async Task WatchAsync()
    {
        try
        {
            Task logs = CopyLogsAsync(_disposing.Token);
            ContainerWaitResponse result = await _client.Containers.WaitContainerAsync(_container.Id, _disposing.Token).ConfigureAwait(false);
            try
            {
                // The follow stream ends when the container stops; bounded so a stuck stream cannot hide the exit.
                await logs.WaitAsync(s_logDrainTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogDrainTimeout(_logger, _container.Id[..12]);
            }

            long code = result.StatusCode;
            // Docker reports a main process killed by signal n as 128+n.
            if (code is > 128 and <= 128 + 64)
            {
                Signal = (int)(code - 128);
            }
            else
            {
                ExitCode = (int)code;
            }

            LogExited(_logger, _container.Id[..12], code);
        }
        catch (Exception ex) when (ex is OperationCanceledException or DockerApiException or IOException or HttpRequestException)
        {
            // Disposed while running, or the engine went away: the container's fate is unknown; report it as killed.
            Signal ??= ExitCode is null ? 9 : null;
            LogWatchFailed(_logger, ex, _container.Id[..12]);
        }
        finally
        {
            _exited.TrySetResult();
        }
    }

    private async Task CopyLogsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var file = new FileStream(_logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                using MultiplexedStream stream = await _client.Containers.GetContainerLogsAsync(
                    _container.Id,
                    new ContainerLogsParameters { Follow = true, ShowStdout = true, ShowStderr = true },
                    cancellationToken).ConfigureAwait(false);
                byte[] buffer = new byte[16 * 1024];
                while (true)
                {
                    MultiplexedStream.ReadResult read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
                    if (read.EOF)
                    {
                        break;
                    }

                    // stdout and stderr go to one file, in arrival order, as with a local QEMU.
                    await file.WriteAsync(buffer.AsMemory(0, read.Count), cancellationToken).ConfigureAwait(false);
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or DockerApiException or IOException or HttpRequestException)
        {
            LogCopyFailed(_logger, ex, _container.Id[..12]);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "QEMU container {Id} exited with status {Status}")]
    private static partial void LogExited(ILogger logger, string id, long status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Removed QEMU container {Id}")]
    private static partial void LogRemoved(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QEMU container {Id} did not exit within 30 s of SIGKILL; removing it anyway")]
    private static partial void LogExitTimeout(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The output of QEMU container {Id} was still streaming 10 s after it exited; the log may be cut short")]
    private static partial void LogDrainTimeout(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped watching QEMU container {Id}")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string id);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stopped copying the output of QEMU container {Id}")]
    private static partial void LogCopyFailed(ILogger logger, Exception exception, string id);
}
