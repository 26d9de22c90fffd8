using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;
using QemuTestKit.Sdk;

namespace QemuTestKit;

// Launch: sockets, the base arguments, the process, then QMP and the console (QEMUMachine's _pre_launch/launch/_post_launch).
public sealed partial class QemuMachine
{
    /// <summary>When the launcher of the last launch returned QEMU's process (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; 0 before): for the split of a launch's time.</summary>
    internal long ProcessStartedTimestamp { get; private set; }

    /// <summary>
    /// A machine launched for nobody yet (a warm-start spare): its console logs into the machine's own folder until
    /// <see cref="Adopt"/> moves that file to the log of the caller that takes it. Set before the launch.
    /// </summary>
    internal void LogConsoleUntilAdopted() => _consoleLogPath = Path.Combine(LogDir, Name + "-console.log");

    /// <summary>
    /// Hands a launched spare to the caller that takes it: QEMU's output file moves into <paramref name="logDir"/> and the
    /// console log to <paramref name="consoleLogPath"/>, both by rename, so QEMU and the console keep writing to them and
    /// the log keeps what the console read before. A null folder keeps the machine's; a null console log leaves the
    /// spare's in the machine's temp folder (removed at shutdown, as for a machine configured without one).
    /// </summary>
    /// <exception cref="IOException">A file cannot be renamed there (another file system): the caller discards the machine.</exception>
    internal void Adopt(string? logDir, string? consoleLogPath)
    {
        if (logDir is not null && _qemuLogPath is not null && !string.Equals(Path.GetFullPath(logDir), Path.GetFullPath(LogDir), StringComparison.Ordinal))
        {
            Directory.CreateDirectory(logDir);
            string moved = Path.Combine(logDir, Name + ".log");
            MoveOpenFile(_qemuLogPath, moved, "QEMU's output file");
            _qemuLogPath = moved;
            _dirs.UseLogDir(logDir);
        }

        if (consoleLogPath is not null && _console?.LogPath is { } consoleLog && !string.Equals(Path.GetFullPath(consoleLogPath), Path.GetFullPath(consoleLog), StringComparison.Ordinal))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(consoleLogPath))!);
            MoveOpenFile(consoleLog, consoleLogPath, "the console log");
            _console.LogMovedTo(consoleLogPath);
        }

        _consoleLogPath = consoleLogPath;
    }

    private static void MoveOpenFile(string from, string to, string what)
    {
        // rename(2), not File.Move: across file systems File.Move copies, and the writer would go on writing to the deleted original.
        if (Rename(from, to) != 0)
        {
            throw new IOException($"Cannot move {what} {from} to {to}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string oldPath, string newPath);

    private async Task LaunchCoreAsync(CancellationToken cancellationToken)
    {
        bool connectBack = _launcher.QemuCanConnectToHost;
        _iolog = null;
        AbnormalShutdown = null;
        _quitIssued = false;
        _userKilled = false;
        _fullArgs = [];
        List<int> listenPorts = [];

        _dirs.SweepLeftovers();

        // Sockets first: their paths decide whether a short socket folder is needed.
        (string? consoleUnixPath, int consolePort) = _consoleSet ? ReserveServedSocket("console", connectBack, listenPorts) : (null, 0);
        (string? agentUnixPath, int agentPort) = ReserveGuestAgentSocket(connectBack, listenPorts);

        QemuSocketAddress? monitor = null;
        if (_qmpSet)
        {
            monitor = _monitorAddress ?? (connectBack ? QemuSocketAddress.Unix(_dirs.SocketPath("monitor")) : QemuSocketAddress.Tcp(_launcher.QemuListenHost, FreeTcpPort()));
            if (monitor.IsUnix)
            {
                MachineDirectories.CheckSocketPath(monitor.Path!, explicitlyConfigured: _monitorAddress is not null);
                _removeFiles.Add(monitor.Path!);
                if (connectBack)
                {
                    _listener = QmpListener.ListenUnix(monitor.Path!);
                }
            }
            else if (connectBack)
            {
                _listener = QmpListener.ListenTcp(monitor.Host!, monitor.Port);
                monitor = QemuSocketAddress.Tcp(monitor.Host!, _listener.Port!.Value);
            }
            else
            {
                listenPorts.Add(monitor.Port);
            }
        }

        Directory.CreateDirectory(LogDir);
        _qemuLogPath = Path.Combine(LogDir, Name + ".log");
        await File.WriteAllBytesAsync(_qemuLogPath, [], cancellationToken).ConfigureAwait(false);

        MachineCommandLine.ConsoleChardev? console = _consoleSet
            ? new MachineCommandLine.ConsoleChardev(consoleUnixPath, _launcher.QemuListenHost, consolePort, _consoleDeviceType)
            : null;
        MachineCommandLine.GuestAgentChardev? agent = _agentSerialDevice is not null
            ? new MachineCommandLine.GuestAgentChardev(agentUnixPath, _launcher.QemuListenHost, agentPort, _agentSerialDevice)
            : null;
        List<string> baseArgs = MachineCommandLine.BaseArgs(monitor, connectBack, _machine, _consoleIndex, console, agent);
        MachineCommandLine.ServedSockets served = ServedSockets();
        baseArgs.AddRange(MachineCommandLine.ServedArgs(served));
        var spec = new QemuLaunchSpec
        {
            Wrapper = _wrapper,
            Binary = _binary,
            Arguments = [.. baseArgs, .. _args],
            LogPath = _qemuLogPath,
            SocketDirectory = SockDir,
            HostFiles = _hostFiles,
            SharedDirectories = SharedDirectories(monitor?.Path, consoleUnixPath),
            QemuListenPorts = listenPorts,
            MonitorPort = monitor is { IsUnix: false } ? monitor.Port : null,
            ConsolePort = consolePort > 0 ? consolePort : null,
            MonitorPath = connectBack && monitor is { IsUnix: true } ? monitor.Path : null,
            ConsolePath = consoleUnixPath,
            GuestAgentPath = agentUnixPath,
            GuestAgentPort = agentPort > 0 ? agentPort : null,
            GdbPath = served.GdbPath,
            InheritedFileDescriptors = [.. _inheritedFds],
            Environment = _environment,
            Detachable = _detachable,
        };
        _fullArgs = spec.CommandLine;
        LaunchSpec = spec;
        MachineLog.LaunchCommand(_logger, Name, CommandLineText.Format(_fullArgs));

        _process = await _launcher.StartAsync(spec, cancellationToken).ConfigureAwait(false);
        ProcessStartedTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        _launched = true;

        using var launchDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_qmpTimer != Timeout.InfiniteTimeSpan)
        {
            launchDeadline.CancelAfter(_qmpTimer);
        }

        IQemuProcess started = _process;
        Task exited = started.WaitForExitAsync(CancellationToken.None);

        // An early exit ends the wait for QMP at once instead of at the timer.
        CancelWhenExited(exited, launchDeadline);
        try
        {
            if (monitor is not null)
            {
                _qmp = await ConnectQmpAsync(monitor, connectBack, started, launchDeadline.Token).ConfigureAwait(false);
            }

            if (_consoleSet)
            {
                _console = await ConnectConsoleAsync(consoleUnixPath, consolePort, started, launchDeadline.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or QmpConnectionException && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None)).ConfigureAwait(false);
            if (started.HasExited)
            {
                throw new QemuLaunchException($"QEMU exited before it was ready ({(monitor is null ? "console" : "QMP")} not connected).", ex);
            }

            throw new QemuLaunchException(
                $"QEMU did not connect to {(monitor is null ? "the console" : "QMP at " + monitor)} within the QMP timer ({_qmpTimer.TotalSeconds:0.###} s).", ex);
        }
    }

    /// <summary>
    /// A socket QEMU serves (console, guest agent): a unix socket in the socket folder when QEMU can reach this host's
    /// files, else a free TCP port QEMU listens on.
    /// </summary>
    private (string? UnixPath, int Port) ReserveServedSocket(string kind, bool connectBack, List<int> listenPorts)
    {
        if (connectBack)
        {
            string path = _dirs.SocketPath(kind);
            _removeFiles.Add(path);
            return (path, 0);
        }

        int port = FreeTcpPort();
        listenPorts.Add(port);
        return (null, port);
    }

    /// <summary>Cancels <paramref name="source"/> when QEMU exits (<paramref name="exited"/>), so a connect that waits for QEMU ends at once.</summary>
    private static void CancelWhenExited(Task exited, CancellationTokenSource source) =>
        _ = exited.ContinueWith(_ => SafeCancel(source), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private static void SafeCancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task<QmpClient> ConnectQmpAsync(QemuSocketAddress monitor, bool connectBack, IQemuProcess process, CancellationToken cancellationToken)
    {
        var options = new QmpClientOptions
        {
            // One rule for keys everywhere: vm.Qmp converts _ to - like CommandAsync does (QmpAsync/CommandAsync with
            // convertKeys: false hand the client JSON, which is sent verbatim).
            ConvertKeys = true,
            Logger = _logger,
            Name = Name,
            CommandTimeout = _commandTimeout,
            StallDiagnosis = DiagnoseStall,
            AmbientCancellation = _ambientCancellation,
        };
        if (connectBack)
        {
            QmpClient client = await _listener!.AcceptAsync(options, cancellationToken).ConfigureAwait(false);

            // One connection per listener: stop listening now (this also removes the socket file).
            await _listener.DisposeAsync().ConfigureAwait(false);
            _listener = null;
            return client;
        }

        return await RetryConnectAsync(
            ct => monitor.IsUnix
                ? QmpClient.ConnectAsync(monitor.Path!, options, ct)
                : ConnectTcpQmp(process.ResolveTcpEndpoint(monitor.Port), options, ct),
            cancellationToken).ConfigureAwait(false);
    }

    private static Task<QmpClient> ConnectTcpQmp(DnsEndPoint endpoint, QmpClientOptions options, CancellationToken cancellationToken) =>
        QmpClient.ConnectAsync(endpoint.Host, endpoint.Port, options, cancellationToken);

    private async Task<QemuConsole> ConnectConsoleAsync(string? unixPath, int port, IQemuProcess process, CancellationToken cancellationToken)
    {
        var options = new QemuConsoleOptions { LogPath = _consoleLogPath, Logger = _logger, AmbientCancellation = _ambientCancellation };
        QemuConsole console = await RetryConnectAsync(
            ct =>
            {
                if (unixPath is not null)
                {
                    return QemuConsole.ConnectAsync(unixPath, options, ct);
                }

                DnsEndPoint endpoint = process.ResolveTcpEndpoint(port);
                return QemuConsole.ConnectAsync(endpoint.Host, endpoint.Port, options, ct);
            },
            cancellationToken).ConfigureAwait(false);

        // A console wait that times out says whether QEMU itself is stopped or gone, as a QMP timeout does.
        console.StallDiagnosis = DescribeProcessState;
        return console;
    }

    /// <summary>Connects to a socket QEMU serves, retrying while QEMU is still creating it.</summary>
    private static async Task<T> RetryConnectAsync<T>(Func<CancellationToken, Task<T>> connect, CancellationToken cancellationToken)
    {
        TimeSpan delay = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            try
            {
                return await connect(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or QmpConnectionException or IOException && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 100));
            }
        }
    }

    private static int FreeTcpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
