using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;
using QemuTestKit.Sdk;

namespace QemuTestKit;

/// <summary>
/// A QEMU virtual machine: the C# port of QEMU's Python <c>qemu.machine.QEMUMachine</c>. Configure it, then
/// <see cref="LaunchAsync"/> (QMP is connected and negotiated when it returns), talk to it through <see cref="Qmp"/>,
/// <see cref="CommandAsync"/> and <see cref="Console"/>, and <see cref="ShutdownAsync"/> it (QMP <c>quit</c>, then kill
/// if needed; cleanup always runs). Disposing shuts it down like leaving Python's <c>with</c> block, except that it
/// never throws <see cref="AbnormalShutdownException"/> (see <see cref="DisposeAsync"/>).
/// </summary>
/// <remarks>
/// <para>QEMU connects to a QMP socket this object already listens on, so there is no start-up race. QEMU (and a
/// forking wrapper's children) is killed if this process dies (see <see cref="ProcessQemuLauncher"/>). Paths given to
/// QEMU options are escaped for its comma syntax.</para>
/// <para>Nothing waits forever by default: QMP commands have <see cref="QemuMachineOptions.CommandTimeout"/>, and a
/// timeout says what QEMU's process is doing (for example <c>stopped (T)</c>), which command was pending and the
/// console's last lines. Shutdown of a stopped QEMU kills it at once instead of waiting out the graceful timeout.</para>
/// <para>The source is split by concern: configuration here, launch in <c>QemuMachine.Launch.cs</c>, shutdown and cleanup
/// in <c>QemuMachine.Lifecycle.cs</c>, stall diagnosis in <c>QemuMachine.Diagnosis.cs</c>, QMP in
/// <c>QemuMachine.Qmp.cs</c>, the base arguments in <c>MachineCommandLine</c> and the folders in
/// <c>MachineDirectories</c>.</para>
/// </remarks>
public sealed partial class QemuMachine : IAsyncDisposable
{
    private static int s_counter;

    private readonly string _binary;
    private readonly List<string> _args;
    private readonly string[] _hostFiles;
    private readonly IReadOnlyList<string> _wrapper;
    private readonly TimeSpan _qmpTimer;
    private readonly TimeSpan? _commandTimeout;
    private readonly Func<CancellationToken>? _ambientCancellation;
    private readonly MachineDirectories _dirs;
    private readonly QemuSocketAddress? _monitorAddress;
    private string? _consoleLogPath;
    private readonly ILogger _logger;
    private readonly IQemuLauncher _launcher;
    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly List<string> _removeFiles = [];
    private readonly List<int> _inheritedFds = [];

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
    private readonly bool _detachable;
    private readonly QemuGdbStub _gdbStub;

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
        _commandTimeout = options.CommandTimeout == Timeout.InfiniteTimeSpan ? null : options.CommandTimeout;
        _ambientCancellation = options.AmbientCancellation;
        _monitorAddress = options.MonitorAddress;
        _consoleLogPath = options.ConsoleLogPath;
        _logger = options.Logger ?? NullLogger.Instance;
        _dirs = new MachineDirectories(Name, options.BaseTempDir, options.SockDir, options.LogDir, _logger);
        _launcher = options.Launcher ?? ProcessQemuLauncher.Default;
        _environment = options.Environment;
        _detachable = options.Detachable;
        _gdbStub = options.GdbStub;
    }

    /// <summary>The prefix of this machine's socket and log file names.</summary>
    public string Name { get; }

    /// <summary>The QEMU binary.</summary>
    public string Binary => _binary;

    /// <summary>The user's arguments (QEMUMachine's <c>args</c>): <see cref="QemuMachineOptions.Args"/> plus <see cref="AddArgs"/>.</summary>
    public IReadOnlyList<string> Args => _args;

    /// <summary>The full command line of the last launch: wrapper, binary, base arguments, user arguments (empty before).</summary>
    public IReadOnlyList<string> CommandLine => _fullArgs;

    /// <summary>What the last launch gave its launcher: command line, files, folders and ports as data; null before the first launch.</summary>
    public QemuLaunchSpec? LaunchSpec { get; private set; }

    /// <summary>Whether QEMU runs (QEMUMachine's <c>is_running()</c>).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// QEMU's exit status once it exited (QEMUMachine's <c>exitcode()</c>): negative when a signal ended it (-9: SIGKILL);
    /// <see langword="null"/> if never launched or still running.
    /// </summary>
    public int? ExitCode => _process is { HasExited: true } p ? (p.Signal is { } signal ? -signal : p.ExitCode) : null;

    /// <summary>QEMU's process id while it runs (QEMUMachine's <c>get_pid()</c>); <see langword="null"/> otherwise or when it runs elsewhere.</summary>
    public int? Pid => IsRunning ? _process!.Pid : null;

    /// <summary>
    /// Completes when the QEMU process of the current launch has exited, before the cleanup a shutdown does after the exit
    /// (at once when none runs). Does not stop QEMU; lets a caller free what only a running QEMU needs (a VM slot) early.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the returned task is).</exception>
    public Task WhenExitedAsync(CancellationToken cancellationToken = default) =>
        _process is { HasExited: false } process ? process.WaitForExitAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>QEMU's standard output and error, loaded after shutdown or a failed launch (QEMUMachine's <c>get_log()</c>).</summary>
    public string? Log => _iolog;

    /// <summary>The temp directory (QEMUMachine's <c>temp_dir</c>): created on first use, private (0700), removed at cleanup.</summary>
    /// <remarks>Reading it creates the folder; shutdown after a launch removes it, and dispose removes it even when the machine was never launched.</remarks>
    public string TempDir => _dirs.TempDir;

    /// <summary>Where the sockets go (QEMUMachine's <c>sock_dir</c>): the configured folder, else the temp directory.</summary>
    public string SockDir => _dirs.SockDir;

    /// <summary>Where QEMU's log file goes (QEMUMachine's <c>log_dir</c>): the configured folder, else the temp directory.</summary>
    public string LogDir => _dirs.LogDir;

    /// <summary>
    /// The abnormal end of the last shutdown (also of one <see cref="DisposeAsync"/> did, which does not throw it), or
    /// <see langword="null"/>; cleared at launch.
    /// </summary>
    public AbnormalShutdownException? AbnormalShutdown { get; private set; }

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

    /// <summary>Adds arguments for QEMU (QEMUMachine's <c>add_args</c>); they apply at the next launch.</summary>
    public void AddArgs(params string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        _args.AddRange(args);
    }

    /// <summary>Sets the machine type, added to the base arguments as <c>-machine</c> (QEMUMachine's <c>set_machine</c>).</summary>
    public void SetMachine(string machineType)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineType);
        _machine = machineType;
    }

    /// <summary>
    /// Adds a console (QEMUMachine's <c>set_console</c>): a socket chardev, connected to <c>-serial chardev:console</c>, or to
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

    /// <summary>Enables or disables the QMP monitor in the base arguments (QEMUMachine's <c>set_qmp_monitor</c>); call before launch.</summary>
    public void SetQmpMonitor(bool enabled = true) => _qmpSet = enabled;

    /// <summary>Adds an unused monitor, <c>-monitor null</c> (QEMUMachine's <c>add_monitor_null</c>).</summary>
    public void AddMonitorNull() => _args.AddRange(["-monitor", "null"]);

    /// <summary>
    /// Passes the open descriptor <paramref name="fd"/> to QEMU as <c>-add-fd fd=…,set=…,opaque=…</c> (QEMUMachine's
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
    /// and the console, if any, is connected (QEMUMachine's <c>launch</c>).
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

    private List<string> SharedDirectories(string? monitorSocket, string? consoleSocket)
    {
        // Data, not argv read back: the machine's folders, its sockets' folders and the folders of the host files it was given.
        IEnumerable<string?> folders = [SockDir, TempDir, LogDir, .. new[] { monitorSocket, consoleSocket }.Concat(_hostFiles).Select(Path.GetDirectoryName)];
        return [.. folders.OfType<string>().Where(f => f.Length > 0).Distinct(StringComparer.Ordinal)];
    }
}
