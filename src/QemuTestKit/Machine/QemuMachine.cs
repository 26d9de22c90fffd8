using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Qmp;

namespace QemuTestKit;

/// <summary>
/// A QEMU virtual machine: the C# port of QEMU's Python <c>qemu.machine.QEMUMachine</c>. Configure it, then
/// <see cref="LaunchAsync"/> (QMP is connected and negotiated when it returns), talk to it through <see cref="Qmp"/>,
/// <see cref="CommandAsync"/> and <see cref="Console"/>, and <see cref="ShutdownAsync"/> it (QMP <c>quit</c>, then kill
/// if needed; cleanup always runs). Disposing shuts it down like the seed's context manager.
/// </summary>
/// <remarks>
/// QEMU connects to a QMP socket this object already listens on, so there is no start-up race. QEMU is killed if this
/// process dies (see <see cref="ProcessQemuLauncher"/>). Paths given to QEMU options are escaped for its comma syntax.
/// </remarks>
public sealed partial class QemuMachine : IAsyncDisposable
{
    private static int s_counter;

    private readonly string _binary;
    private readonly List<string> _args;
    private readonly string[] _hostFiles;
    private readonly IReadOnlyList<string> _wrapper;
    private readonly TimeSpan _qmpTimer;
    private readonly string? _baseTempDir;
    private readonly string? _sockDir;
    private readonly string? _logDir;
    private readonly QemuSocketAddress? _monitorAddress;
    private readonly string? _consoleLogPath;
    private readonly ILogger _logger;
    private readonly IQemuLauncher _launcher;
    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly List<string> _removeFiles = [];
    private readonly List<int> _inheritedFds = [];

    private string? _tempDir;
    private string? _shortSockDir;
    private string? _qemuLogPath;
    private string? _iolog;
    private IQemuProcess? _process;
    private QmpListener? _listener;
    private QmpClient? _qmp;
    private QemuConsole? _console;
    private IReadOnlyList<string> _fullArgs = [];
    private bool _launched;
    private bool _qmpSet = true;
    private string? _machine;
    private int _consoleIndex;
    private bool _consoleSet;
    private string? _consoleDeviceType;
    private bool _userKilled;
    private bool _quitIssued;

    /// <summary>Creates a machine for <paramref name="binary"/> (a path, or a name found on PATH); QEMU starts at <see cref="LaunchAsync"/>.</summary>
    public QemuMachine(string binary, QemuMachineOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(binary);
        options ??= new QemuMachineOptions();
        _binary = binary;
        _args = [.. options.Args];
        _hostFiles = [.. options.HostFiles];
        _wrapper = [.. options.Wrapper];
        _qmpTimer = options.QmpTimer;
        Name = options.Name ?? string.Create(CultureInfo.InvariantCulture, $"qemu-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}");
        _baseTempDir = options.BaseTempDir;
        _sockDir = options.SockDir;
        _logDir = options.LogDir;
        _monitorAddress = options.MonitorAddress;
        _consoleLogPath = options.ConsoleLogPath;
        _logger = options.Logger ?? NullLogger.Instance;
        _launcher = options.Launcher ?? ProcessQemuLauncher.Default;
        _environment = options.Environment;
    }

    /// <summary>The prefix of this machine's socket and log file names.</summary>
    public string Name { get; }

    /// <summary>The QEMU binary.</summary>
    public string Binary => _binary;

    /// <summary>The user's arguments (the seed's <c>args</c>): <see cref="QemuMachineOptions.Args"/> plus <see cref="AddArgs"/>.</summary>
    public IReadOnlyList<string> Args => _args;

    /// <summary>The full command line of the last launch: wrapper, binary, base arguments, user arguments (empty before).</summary>
    public IReadOnlyList<string> CommandLine => _fullArgs;

    /// <summary>What the last launch gave its launcher: command line, files, folders and ports as data; null before the first launch.</summary>
    public QemuLaunchSpec? LaunchSpec { get; private set; }

    /// <summary>Whether QEMU runs (the seed's <c>is_running()</c>).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// QEMU's exit status once it exited (the seed's <c>exitcode()</c>): negative when a signal ended it (-9: SIGKILL);
    /// <see langword="null"/> if never launched or still running.
    /// </summary>
    public int? ExitCode => _process is { HasExited: true } p ? (p.Signal is { } signal ? -signal : p.ExitCode) : null;

    /// <summary>QEMU's process id while it runs (the seed's <c>get_pid()</c>); <see langword="null"/> otherwise or when it runs elsewhere.</summary>
    public int? Pid => IsRunning ? _process!.Pid : null;

    /// <summary>QEMU's standard output and error, loaded after shutdown or a failed launch (the seed's <c>get_log()</c>).</summary>
    public string? Log => _iolog;

    /// <summary>The temp directory (the seed's <c>temp_dir</c>): created on first use, private (0700), removed at cleanup.</summary>
    public string TempDir => _tempDir ??= CreatePrivateDirectory(_baseTempDir ?? Path.GetTempPath(), "qemu-machine-");

    /// <summary>Where the sockets go (the seed's <c>sock_dir</c>): the configured folder, else the temp directory.</summary>
    public string SockDir => _sockDir ?? _shortSockDir ?? TempDir;

    /// <summary>Where QEMU's log file goes (the seed's <c>log_dir</c>): the configured folder, else the temp directory.</summary>
    public string LogDir => _logDir ?? TempDir;

    /// <summary>The console log file, if configured; it is kept after the VM is gone.</summary>
    public string? ConsoleLogPath => _consoleLogPath;

    /// <summary>
    /// The serial console set with <see cref="SetConsole"/>, connected at launch and drained in the background. After
    /// shutdown it stays readable (<see cref="QemuConsole.Text"/>) until the next launch.
    /// </summary>
    /// <exception cref="QemuMachineException">No console was configured, or the machine was never launched.</exception>
    public QemuConsole Console => _console ?? throw new QemuMachineException(
        _consoleSet ? "The console is not connected: launch the machine first." : "No console: call SetConsole() before LaunchAsync().");

    /// <summary>
    /// Escapes <paramref name="value"/> for QEMU's <c>key=value,…</c> option syntax (a comma is doubled), for paths in
    /// arguments you add, e.g. <c>"-drive", "file=" + QemuMachine.EscapeOptionValue(image) + ",format=raw"</c>.
    /// </summary>
    public static string EscapeOptionValue(string value) => QemuOptionValue.Escape(value);

    /// <summary>Adds arguments for QEMU (the seed's <c>add_args</c>); they apply at the next launch.</summary>
    public void AddArgs(params string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        _args.AddRange(args);
    }

    /// <summary>Sets the machine type, added to the base arguments as <c>-machine</c> (the seed's <c>set_machine</c>).</summary>
    public void SetMachine(string machineType)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineType);
        _machine = machineType;
    }

    /// <summary>
    /// Adds a console (the seed's <c>set_console</c>): a socket chardev, connected to <c>-serial chardev:console</c>, or to
    /// <c>-device {deviceType},chardev=console</c> when <paramref name="deviceType"/> is given (e.g. <c>isa-serial</c>).
    /// With <paramref name="consoleIndex"/> &gt; 0, that many <c>-serial null</c> come first.
    /// </summary>
    public void SetConsole(string? deviceType = null, int consoleIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(consoleIndex);
        _consoleSet = true;
        _consoleDeviceType = deviceType;
        _consoleIndex = consoleIndex;
    }

    /// <summary>Enables or disables the QMP monitor in the base arguments (the seed's <c>set_qmp_monitor</c>); call before launch.</summary>
    public void SetQmpMonitor(bool enabled = true) => _qmpSet = enabled;

    /// <summary>Adds an unused monitor, <c>-monitor null</c> (the seed's <c>add_monitor_null</c>).</summary>
    public void AddMonitorNull() => _args.AddRange(["-monitor", "null"]);

    /// <summary>
    /// Passes the open descriptor <paramref name="fd"/> to QEMU as <c>-add-fd fd=…,set=…,opaque=…</c> (the seed's
    /// <c>add_fd</c>). The descriptor is made inheritable now (close-on-exec cleared), so keep it open until launch.
    /// Only a local launcher can pass descriptors.
    /// </summary>
    /// <exception cref="IOException">The descriptor is not open.</exception>
    public QemuMachine AddFd(int fd, int fdset, string opaque, string opts = "")
    {
        ArgumentNullException.ThrowIfNull(opaque);
        ArgumentNullException.ThrowIfNull(opts);
        var options = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"fd={fd}"),
            string.Create(CultureInfo.InvariantCulture, $"set={fdset}"),
            QemuOptionValue.Pair("opaque", opaque),
        };
        if (opts.Length > 0)
        {
            options.Add(opts);
        }

        int flags = Libc.fcntl(fd, Libc.F_GETFD, 0);
        if (flags < 0 || Libc.fcntl(fd, Libc.F_SETFD, flags & ~Libc.FD_CLOEXEC) < 0)
        {
            throw new IOException($"Cannot make descriptor {fd} inheritable: {System.Runtime.InteropServices.Marshal.GetLastPInvokeErrorMessage()}");
        }

        _inheritedFds.Add(fd);
        _args.AddRange(["-add-fd", string.Join(',', options)]);
        return this;
    }

    /// <summary>
    /// Starts QEMU and returns once QMP is connected and negotiated (within <see cref="QemuMachineOptions.QmpTimer"/>)
    /// and the console, if any, is connected (the seed's <c>launch</c>).
    /// </summary>
    /// <exception cref="QemuMachineException">The machine is already launched.</exception>
    /// <exception cref="QemuLaunchException">QEMU could not start, exited early or never connected; everything was cleaned up.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (QEMU was killed and cleaned up).</exception>
    public async Task LaunchAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_launched)
            {
                throw new QemuMachineException($"VM {Name} already launched (pid {_process?.Pid}); shut it down first.");
            }

            try
            {
                await LaunchCoreAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The process may have started and died, or may still be waiting for nothing: stop it, then clean up.
                if (_process is { HasExited: false } process)
                {
                    _userKilled = true;
                    await process.KillAsync(CancellationToken.None).ConfigureAwait(false);
                    await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None).ConfigureAwait(false);
                }

                await PostShutdownAsync().ConfigureAwait(false);
                MachineLog.LaunchFailed(_logger, ex, Name, CommandLineText.Format(_fullArgs), _iolog ?? "");
                if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                if (ex is QemuLaunchException { Output.Length: > 0 })
                {
                    throw;
                }

                throw new QemuLaunchException($"Launching VM {Name} failed: {ex.Message}", ExitCode, _fullArgs, _iolog ?? "", ex);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops QEMU and cleans up (the seed's <c>shutdown</c>). Soft: QMP <c>quit</c> (unless already issued), then wait up
    /// to <paramref name="timeout"/> (default 30 s); if that fails QEMU is killed and <see cref="AbnormalShutdownException"/>
    /// is thrown with the cause inside. Hard: kill at once. Cleanup always runs: QMP closed, <see cref="Log"/> loaded, temp
    /// directory and sockets removed. A signal nobody sent is logged as a warning. Does nothing when not launched.
    /// </summary>
    /// <exception cref="AbnormalShutdownException">The graceful shutdown failed; QEMU was killed.</exception>
    /// <exception cref="TimeoutException">QEMU did not exit within 60 s of SIGKILL.</exception>
    public Task ShutdownAsync(bool hard = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ShutdownCoreAsync(hard, timeout, quitIssued: false, cancellationToken);

    private async Task ShutdownCoreAsync(bool hard, TimeSpan? timeout, bool quitIssued, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!_launched)
            {
                return;
            }

            _quitIssued |= quitIssued;

            try
            {
                if (hard)
                {
                    _userKilled = true;
                    await HardShutdownAsync().ConfigureAwait(false);
                }
                else
                {
                    await DoShutdownAsync(timeout ?? TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await PostShutdownAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Kills QEMU, waits for it to exit and cleans up (the seed's <c>kill</c>): <c>ShutdownAsync(hard: true)</c>.</summary>
    /// <exception cref="TimeoutException">QEMU did not exit within 60 s of SIGKILL.</exception>
    public Task KillAsync(CancellationToken cancellationToken = default) => ShutdownAsync(hard: true, cancellationToken: cancellationToken);

    /// <summary>
    /// Waits for the guest to power QEMU off, then cleans up (the seed's <c>wait</c>): no <c>quit</c> is sent; after
    /// <paramref name="timeout"/> (default 30 s) QEMU is killed and <see cref="AbnormalShutdownException"/> thrown.
    /// </summary>
    /// <exception cref="AbnormalShutdownException">QEMU did not exit in time and was killed.</exception>
    public Task WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ShutdownCoreAsync(hard: false, timeout, quitIssued: true, cancellationToken);

    /// <summary>Shuts the machine down (soft, 30 s), like leaving the seed's <c>with</c> block; errors propagate.</summary>
    public async ValueTask DisposeAsync() => await ShutdownAsync().ConfigureAwait(false);

    private async Task LaunchCoreAsync(CancellationToken cancellationToken)
    {
        bool connectBack = _launcher.QemuCanConnectToHost;
        _iolog = null;
        _quitIssued = false;
        _userKilled = false;
        _fullArgs = [];
        List<int> listenPorts = [];

        // Sockets first: their paths decide whether a short socket folder is needed.
        string? consoleUnixPath = null;
        int consolePort = 0;
        if (_consoleSet)
        {
            if (connectBack)
            {
                consoleUnixPath = SocketPath("console");
                _removeFiles.Add(consoleUnixPath);
            }
            else
            {
                consolePort = FreeTcpPort();
                listenPorts.Add(consolePort);
            }
        }

        QemuSocketAddress? monitor = null;
        if (_qmpSet)
        {
            monitor = _monitorAddress ?? (connectBack ? QemuSocketAddress.Unix(SocketPath("monitor")) : QemuSocketAddress.Tcp(_launcher.QemuListenHost, FreeTcpPort()));
            if (monitor.IsUnix)
            {
                CheckSocketPath(monitor.Path!, explicitlyConfigured: _monitorAddress is not null);
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

        List<string> baseArgs = BaseArgs(monitor, connectBack, consoleUnixPath, consolePort);
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
            InheritedFileDescriptors = [.. _inheritedFds],
            Environment = _environment,
        };
        _fullArgs = spec.CommandLine;
        LaunchSpec = spec;
        MachineLog.LaunchCommand(_logger, Name, CommandLineText.Format(_fullArgs));

        _process = await _launcher.StartAsync(spec, cancellationToken).ConfigureAwait(false);
        _launched = true;

        using var launchDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_qmpTimer != Timeout.InfiniteTimeSpan)
        {
            launchDeadline.CancelAfter(_qmpTimer);
        }

        IQemuProcess started = _process;
        Task exited = started.WaitForExitAsync(CancellationToken.None);

        // An early exit ends the wait for QMP at once instead of at the timer.
        _ = exited.ContinueWith(_ => SafeCancel(launchDeadline), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
        var options = new QmpClientOptions { ConvertKeys = false, Logger = _logger, Name = Name };
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

    private Task<QemuConsole> ConnectConsoleAsync(string? unixPath, int port, IQemuProcess process, CancellationToken cancellationToken)
    {
        var options = new QemuConsoleOptions { LogPath = _consoleLogPath, Logger = _logger };
        return RetryConnectAsync(
            ct =>
            {
                if (unixPath is not null)
                {
                    return QemuConsole.ConnectAsync(unixPath, options, ct);
                }

                DnsEndPoint endpoint = process.ResolveTcpEndpoint(port);
                return QemuConsole.ConnectAsync(endpoint.Host, endpoint.Port, options, ct);
            },
            cancellationToken);
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

    private List<string> BaseArgs(QemuSocketAddress? monitor, bool connectBack, string? consoleUnixPath, int consolePort)
    {
        List<string> args = ["-display", "none", "-vga", "none"];
        if (monitor is not null)
        {
            string chardev = monitor.IsUnix
                ? "socket,id=mon," + QemuOptionValue.Pair("path", monitor.Path!)
                : "socket,id=mon," + QemuOptionValue.Pair("host", monitor.Host!) + string.Create(CultureInfo.InvariantCulture, $",port={monitor.Port}");
            if (!connectBack)
            {
                chardev += ",server=on,wait=off";
            }

            args.AddRange(["-chardev", chardev, "-mon", "chardev=mon,mode=control"]);
        }

        if (_machine is not null)
        {
            args.AddRange(["-machine", _machine]);
        }

        for (int i = 0; i < _consoleIndex; i++)
        {
            args.AddRange(["-serial", "null"]);
        }

        if (_consoleSet)
        {
            string where = consoleUnixPath is not null
                ? QemuOptionValue.Pair("path", consoleUnixPath)
                : QemuOptionValue.Pair("host", _launcher.QemuListenHost) + string.Create(CultureInfo.InvariantCulture, $",port={consolePort}");
            args.AddRange(["-chardev", $"socket,id=console,{where},server=on,wait=off"]);
            if (_consoleDeviceType is null)
            {
                args.AddRange(["-serial", "chardev:console"]);
            }
            else
            {
                args.AddRange(["-device", _consoleDeviceType + ",chardev=console"]);
            }
        }

        return args;
    }

    /// <summary>The socket path for <paramref name="kind"/>, moving to a short private folder if the default one is too long.</summary>
    private string SocketPath(string kind)
    {
        string path = Path.Combine(SockDir, $"{Name}-{kind}.sock");
        if (QemuOptionValue.FitsUnixSocketPath(path) || _sockDir is not null || _shortSockDir is not null)
        {
            CheckSocketPath(path, explicitlyConfigured: _sockDir is not null);
            return path;
        }

        _shortSockDir = CreatePrivateDirectory("/tmp", "qtk-");
        string shorter = Path.Combine(_shortSockDir, $"{Name}-{kind}.sock");
        MachineLog.ShortSocketDirectory(_logger, Name, path, _shortSockDir);
        CheckSocketPath(shorter, explicitlyConfigured: false);
        return shorter;
    }

    private static void CheckSocketPath(string path, bool explicitlyConfigured)
    {
        if (!QemuOptionValue.FitsUnixSocketPath(path))
        {
            throw new QemuMachineException(
                $"The unix socket path '{path}' is {Encoding.UTF8.GetByteCount(path)} bytes; the limit is {QemuOptionValue.MaxUnixSocketPathBytes}. "
                + (explicitlyConfigured
                    ? "Choose a shorter SockDir or MonitorAddress (QemuMachineOptions)."
                    : "Choose a shorter machine Name (QemuMachineOptions.Name)."));
        }
    }

    private List<string> SharedDirectories(string? monitorSocket, string? consoleSocket)
    {
        // Data, not argv read back: the machine's folders, its sockets' folders and the folders of the host files it was given.
        IEnumerable<string?> folders = [SockDir, TempDir, LogDir, .. new[] { monitorSocket, consoleSocket }.Concat(_hostFiles).Select(Path.GetDirectoryName)];
        return [.. folders.OfType<string>().Where(f => f.Length > 0).Distinct(StringComparer.Ordinal)];
    }

    private static int FreeTcpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static unsafe string CreatePrivateDirectory(string parent, string prefix)
    {
        Directory.CreateDirectory(parent);
        byte[] template = Encoding.UTF8.GetBytes(Path.Combine(Path.GetFullPath(parent), prefix + "XXXXXX") + "\0");
        fixed (byte* p = template)
        {
            // mkdtemp: a fresh name and mode 0700 in one atomic step, like the seed's tempfile.mkdtemp.
            if (Libc.mkdtemp(p) is null)
            {
                throw new IOException($"Cannot create a private directory under '{parent}': {System.Runtime.InteropServices.Marshal.GetLastPInvokeErrorMessage()}");
            }
        }

        return Encoding.UTF8.GetString(template, 0, template.Length - 1);
    }

    private async Task DoShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await SoftShutdownAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            MachineLog.SoftShutdownFailed(_logger, ex, Name, ex.Message);
            await HardShutdownAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new AbnormalShutdownException($"Could not perform graceful shutdown of VM {Name}: {ex.Message}", ex);
        }
    }

    private async Task SoftShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }

        try
        {
            if (_qmp is not null)
            {
                try
                {
                    if (!_quitIssued)
                    {
                        await QmpAsync("quit", cancellationToken: deadline.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    await CloseQmpConnectionAsync().ConfigureAwait(false);
                }
            }

            await _process!.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"QEMU did not exit within {timeout.TotalSeconds:0.###} s of {(_quitIssued ? "quit" : "the shutdown request")}.", ex);
        }
    }

    private async Task HardShutdownAsync()
    {
        // Closing QMP first makes the end of the connection ours, not a "connection lost" for the client to report.
        await CloseQmpConnectionAsync().ConfigureAwait(false);
        await _process!.KillAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"QEMU (pid {_process.Pid}) did not exit within 60 s of SIGKILL.", ex);
        }
    }

    private async Task CloseQmpConnectionAsync()
    {
        QmpClient? qmp = _qmp;
        _qmp = null;
        if (qmp is null)
        {
            return;
        }

        bool expectedEnd = _userKilled || _quitIssued || qmp.QuitIssued;
        await qmp.CloseAsync().ConfigureAwait(false);
        if (!expectedEnd && qmp.Completion.IsFaulted)
        {
            MachineLog.QmpCloseFailed(_logger, Name, qmp.Completion.Exception?.InnerException?.Message ?? "connection lost");
        }
    }

    /// <summary>Cleanup after QEMU exited, or after a failed launch; every step runs even if another fails.</summary>
    private async Task PostShutdownAsync()
    {
        await Step(CloseQmpConnectionAsync).ConfigureAwait(false);
        await Step(async () =>
        {
            if (_listener is not null)
            {
                await _listener.DisposeAsync().ConfigureAwait(false);
                _listener = null;
            }
        }).ConfigureAwait(false);
        await Step(async () =>
        {
            if (_console is not null)
            {
                // QEMU closes the socket when it exits; read to that point so the last lines are kept.
                if (_process is { HasExited: true })
                {
                    await _console.DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                }

                await _console.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await Step(async () =>
        {
            if (_qemuLogPath is not null && File.Exists(_qemuLogPath))
            {
                _iolog = await File.ReadAllTextAsync(_qemuLogPath).ConfigureAwait(false);
            }

            _qemuLogPath = null;
        }).ConfigureAwait(false);
        await Step(() =>
        {
            while (_removeFiles.Count > 0)
            {
                string file = _removeFiles[^1];
                _removeFiles.RemoveAt(_removeFiles.Count - 1);
                if (Path.GetDirectoryName(file) is { } dir && Directory.Exists(dir))
                {
                    File.Delete(file);
                }
            }

            if (_tempDir is not null)
            {
                Directory.Delete(_tempDir, recursive: true);
                _tempDir = null;
            }

            if (_shortSockDir is not null)
            {
                Directory.Delete(_shortSockDir, recursive: true);
                _shortSockDir = null;
            }

            return Task.CompletedTask;
        }).ConfigureAwait(false);

        if (_process is { HasExited: true, Signal: { } signal } && !(_userKilled && signal == Libc.SIGKILL))
        {
            MachineLog.UnexpectedSignal(_logger, Name, signal, CommandLineText.Format(_fullArgs));
        }

        if (_process is not null)
        {
            await Step(() => _process.DisposeAsync().AsTask()).ConfigureAwait(false);
        }

        _quitIssued = false;
        _userKilled = false;
        _launched = false;

        async Task Step(Func<Task> step)
        {
            try
            {
                await step().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Cleanup must run every step; failures are logged, as the seed does.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                MachineLog.CleanupFailed(_logger, ex, Name, ex.Message);
            }
        }
    }
}
