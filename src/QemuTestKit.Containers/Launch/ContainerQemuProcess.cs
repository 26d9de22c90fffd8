using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Containers;
using Microsoft.Extensions.Logging;
using QemuTestKit.Sdk;

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

    private readonly string _id;
    private readonly IDockerClient _client;
    private readonly ILogger _logger;
    private readonly Func<int, DnsEndPoint> _resolveTcpEndpoint;
    private readonly Func<CancellationToken, Task> _copyOutput;
    private readonly Func<ValueTask> _release;
    private readonly bool _supervised;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    private ContainerQemuProcess(string id, IDockerClient client, ILogger logger, Func<int, DnsEndPoint> resolveTcpEndpoint, Func<CancellationToken, Task> copyOutput, Func<ValueTask> release, bool supervised)
    {
        _supervised = supervised;
        _id = id;
        _client = client;
        _logger = logger;
        _resolveTcpEndpoint = resolveTcpEndpoint;
        _copyOutput = copyOutput;
        _release = release;
    }

    /// <summary>The container's id.</summary>
    public string ContainerId => _id;

    /// <summary>Always <see langword="null"/>: QEMU's PID is in the container's namespace, not this host's.</summary>
    public int? Pid => null;

    public bool HasExited => _exited.Task.IsCompleted;

    public int? ExitCode { get; private set; }

    public int? Signal { get; private set; }

    /// <summary>Starts watching <paramref name="container"/> (already started): its output into <paramref name="logPath"/>, its exit.</summary>
    public static ContainerQemuProcess Watch(IContainer container, IDockerClient client, string logPath, ILogger logger, Func<int, DnsEndPoint> resolveTcpEndpoint)
    {
        var process = new ContainerQemuProcess(
            container.Id,
            client,
            logger,
            resolveTcpEndpoint,
            ct => CopyLogsAsync(client, container.Id, logPath, logger, ct),
            () => new ValueTask(RemoveAsync(container, client)),
            supervised: false);
        process.StartWatching(Task.FromResult<ContainerWaitResponse?>(null));
        return process;
    }

    /// <summary>
    /// Starts watching a container of the streams transport: <paramref name="wait"/> is the engine's wait, requested
    /// before the container could exit; <paramref name="copyOutput"/> ends when QEMU's output does; <paramref name="release"/>
    /// closes the channels. Disposing removes the container.
    /// </summary>
    public static ContainerQemuProcess Watch(
        string id, IDockerClient client, ILogger logger, Task<ContainerWaitResponse?> wait, Func<CancellationToken, Task> copyOutput, Func<ValueTask> release)
    {
        var process = new ContainerQemuProcess(
            id,
            client,
            logger,
            port => throw new NotSupportedException("QEMU in a streams container listens on no TCP port."),
            copyOutput,
            async () =>
            {
                try
                {
                    await release().ConfigureAwait(false);
                }
                finally
                {
                    await RemoveAsync(id, client).ConfigureAwait(false);
                }
            },
            supervised: true);
        process.StartWatching(wait);
        return process;
    }

    private void StartWatching(Task<ContainerWaitResponse?> wait) => _ = WatchAsync(wait);

    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _exited.Task.WaitAsync(cancellationToken);

    /// <summary>Kills the container's main process (QEMU, or its supervisor): the whole container dies with it.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        if (!HasExited)
        {
            await ContainerSignals.SendAsync(_client, _id, "KILL", supervised: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> (a name such as <c>STOP</c>) to QEMU itself; does nothing once the container has exited.
    /// </summary>
    /// <exception cref="InvalidOperationException">Under the supervisor, the signal could not be delivered (the message says why).</exception>
    public async Task SendSignalAsync(string signal, CancellationToken cancellationToken = default)
    {
        if (!HasExited)
        {
            await ContainerSignals.SendAsync(_client, _id, signal, _supervised, cancellationToken).ConfigureAwait(false);
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
                    LogExitTimeout(_logger, _id[..12]);
                }
            }
        }
        finally
        {
            await _disposing.CancelAsync().ConfigureAwait(false);
            await _release().ConfigureAwait(false);
            _client.Dispose();
            _disposing.Dispose();
            LogRemoved(_logger, _id[..12]);
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
        await RemoveAsync(id, client).ConfigureAwait(false);
    }

    /// <summary>Removes container <paramref name="id"/> by force; one that is gone or going already is fine.</summary>
    internal static async Task RemoveAsync(string id, IDockerClient client)
    {
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

    private async Task WatchAsync(Task<ContainerWaitResponse?> requested)
    {
        try
        {
            Task logs = _copyOutput(_disposing.Token);
            ContainerWaitResponse result = await requested.WaitAsync(_disposing.Token).ConfigureAwait(false)
                ?? await _client.Containers.WaitContainerAsync(_id, _disposing.Token).ConfigureAwait(false);
            try
            {
                // The follow stream ends when the container stops; bounded so a stuck stream cannot hide the exit.
                await logs.WaitAsync(s_logDrainTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogDrainTimeout(_logger, _id[..12]);
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

            LogExited(_logger, _id[..12], code);
        }
        catch (Exception ex) when (ex is OperationCanceledException or DockerApiException or IOException or HttpRequestException)
        {
            // Disposed while running, or the engine went away: the container's fate is unknown; report it as killed.
            Signal ??= ExitCode is null ? 9 : null;
            LogWatchFailed(_logger, ex, _id[..12]);
        }
        finally
        {
            _exited.TrySetResult();
        }
    }

    private static async Task CopyLogsAsync(IDockerClient client, string id, string logPath, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var file = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                using MultiplexedStream stream = await client.Containers.GetContainerLogsAsync(
                    id,
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
            LogCopyFailed(logger, ex, id[..12]);
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
