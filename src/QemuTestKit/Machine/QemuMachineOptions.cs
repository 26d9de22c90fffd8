using Microsoft.Extensions.Logging;
using QemuTestKit.Sdk;

namespace QemuTestKit;

/// <summary>The settings of a <see cref="QemuMachine"/>, the keyword arguments of QEMU's Python <c>QEMUMachine.__init__</c>.</summary>
public sealed record QemuMachineOptions
{
    /// <summary>Extra arguments for QEMU (Python's <c>args</c>), after the machine's base arguments.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>
    /// Host files QEMU opens through <see cref="Args"/> (kernel, images): data for a launcher that runs QEMU elsewhere,
    /// which makes them visible at the same paths. The kit never reads them back out of the arguments.
    /// </summary>
    public IReadOnlyList<string> HostFiles { get; init; } = [];

    /// <summary>A command prefix for the QEMU binary (Python's <c>wrapper</c>), e.g. <c>["gdb", "--args"]</c> or <c>["valgrind"]</c>.</summary>
    public IReadOnlyList<string> Wrapper { get; init; } = [];

    /// <summary>Prefix of the socket and log file names; default <c>qemu-{pid}-{counter}</c>, unique per instance.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Where the temp directory is created; default <see cref="Path.GetTempPath"/>. (Python's QEMUMachine uses <c>/var/tmp</c>, which
    /// survives reboots for large images; test VMs want <c>TMPDIR</c> honoured, a tmpfs for sockets, and a path that exists
    /// in containers.)
    /// </summary>
    public string? BaseTempDir { get; init; }

    /// <summary>The QMP monitor address; default a unix socket <c>{SockDir}/{Name}-monitor.sock</c>.</summary>
    public QemuSocketAddress? MonitorAddress { get; init; }

    /// <summary>Where the sockets go; default the temp directory (or a short private folder under <c>/tmp</c> when that path would exceed the 107-byte unix socket limit).</summary>
    public string? SockDir { get; init; }

    /// <summary>A file that receives everything the console prints; it is kept after the VM is gone.</summary>
    public string? ConsoleLogPath { get; init; }

    /// <summary>Where QEMU's log file goes; default the temp directory (removed at shutdown; the text stays in <see cref="QemuMachine.Log"/>).</summary>
    public string? LogDir { get; init; }

    /// <summary>How long launch waits for QEMU to connect to QMP and negotiate (Python's <c>qmp_timer</c>); default 60 s, <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</summary>
    public TimeSpan QmpTimer { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The bound on each QMP command's reply through this machine (<see cref="QemuMachine.Qmp"/>,
    /// <see cref="QemuMachine.CommandAsync"/>, <see cref="QemuMachine.QmpAsync"/>), also when the caller passes no token:
    /// an expired bound throws <see cref="TimeoutException"/> saying QEMU's process state (e.g. <c>stopped (T)</c>), the
    /// pending command and the console's last lines. Default 60 s: QMP commands answer in milliseconds and even the slow
    /// synchronous ones (a screendump, a snapshot of a small test guest) take seconds on a loaded TCG host, so a minute
    /// means QEMU is stuck; and a stuck test should fail with that diagnosis well before the CI job's own limit kills it
    /// without one. <see langword="null"/> or <see cref="Timeout.InfiniteTimeSpan"/>: wait until the caller's token.
    /// </summary>
    public TimeSpan? CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Receives launch, shutdown and warning messages (such as a signal nobody sent).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Starts the QEMU process; default <see cref="ProcessQemuLauncher.Default"/> (a child of this process).</summary>
    public IQemuLauncher? Launcher { get; init; }

    /// <summary>Environment variables for QEMU on top of this process's (a <see langword="null"/> value removes one).</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Where a call made without a token gets one: the machine's QMP client and console use it when the caller's token
    /// cannot cancel, so a test framework's current-test token reaches every call without being passed, e.g.
    /// <c>() =&gt; TestContext.Current.CancellationToken</c> (xunit; QemuVm sets it) or
    /// <c>() =&gt; TestContext.CurrentContext.CancellationToken</c> (NUnit). Null (the default): such calls end only by
    /// their timeouts.
    /// </summary>
    public Func<CancellationToken>? AmbientCancellation { get; init; }
}
