namespace QemuTestKit;

/// <summary>
/// What one run of a machine knows about itself that differs between machines and runs, so that its
/// snapshot text can name it instead: each value set here is replaced by its placeholder (the property
/// name in braces, e.g. <c>{TempDir}</c>), longest value first.
/// </summary>
/// <remarks>
/// Paths are replaced only where they stand as a whole path (not inside a longer name); <see cref="Name"/>
/// only as a whole word; <see cref="Pid"/> only after the word <c>pid</c> or between <c>-</c>, <c>_</c>,
/// <c>.</c> or <c>/</c> (as in <c>qemu-1234-monitor.sock</c>), never as a bare number that could be a size.
/// </remarks>
public sealed record SnapshotValues
{
    /// <summary>The QEMU binary; becomes <c>{QemuBinary}</c>.</summary>
    public string? QemuBinary { get; init; }

    /// <summary>The machine's temporary directory; becomes <c>{TempDir}</c>.</summary>
    public string? TempDir { get; init; }

    /// <summary>The directory of the machine's sockets; becomes <c>{SockDir}</c>.</summary>
    public string? SockDir { get; init; }

    /// <summary>The directory of the machine's logs; becomes <c>{LogDir}</c>.</summary>
    public string? LogDir { get; init; }

    /// <summary>The QMP monitor's unix socket; becomes <c>{MonitorSocket}</c>.</summary>
    public string? MonitorSocket { get; init; }

    /// <summary>The console's unix socket; becomes <c>{ConsoleSocket}</c>.</summary>
    public string? ConsoleSocket { get; init; }

    /// <summary>The file QEMU's own output goes to; becomes <c>{QemuLog}</c>.</summary>
    public string? QemuLog { get; init; }

    /// <summary>The file the console is drained to; becomes <c>{ConsoleLog}</c>.</summary>
    public string? ConsoleLog { get; init; }

    /// <summary>The machine's name, the prefix of its socket and log file names; becomes <c>{Name}</c>.</summary>
    public string? Name { get; init; }

    /// <summary>The QEMU process id; becomes <c>{Pid}</c>.</summary>
    public int? Pid { get; init; }

    /// <summary>The TCP port of the QMP monitor when it is not a unix socket; <c>port=N</c> becomes <c>port={MonitorPort}</c>.</summary>
    public int? MonitorPort { get; init; }

    /// <summary>The TCP port of the console when it is not a unix socket; <c>port=N</c> becomes <c>port={ConsolePort}</c>.</summary>
    public int? ConsolePort { get; init; }

    /// <summary>
    /// More values to replace: the key is the value as it appears (typically a path), the value the
    /// placeholder's name without braces, e.g. <c>["/src/guest"] = "GuestDir"</c> gives <c>{GuestDir}</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Placeholders { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The values of a running machine: binary, temp, socket and log folders, QEMU's log file, the console log,
    /// the name, the PID, and the TCP ports of its monitor and console when they are not unix sockets.
    /// Take them while the machine runs (its folders are removed at shutdown) and reuse them for the logs afterwards.
    /// </summary>
    /// <param name="machine">A launched, running machine.</param>
    /// <param name="placeholders">More values to name, as in <see cref="Placeholders"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="machine"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The machine is not running.</exception>
    public static SnapshotValues FromMachine(QemuMachine machine, IReadOnlyDictionary<string, string>? placeholders = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        if (!machine.IsRunning || machine.CommandLine.Count == 0)
        {
            // Its folders exist only while it runs; reading them now would create new, empty ones.
            throw new InvalidOperationException($"VM {machine.Name} is not running: take its snapshot values after LaunchAsync and before shutdown.");
        }

        return new SnapshotValues
        {
            QemuBinary = machine.Binary,
            TempDir = machine.TempDir,
            SockDir = machine.SockDir,
            LogDir = machine.LogDir,
            QemuLog = Path.Combine(machine.LogDir, machine.Name + ".log"),
            ConsoleLog = machine.ConsoleLogPath,
            Name = machine.Name,
            Pid = machine.Pid,
            MonitorPort = machine.LaunchSpec?.MonitorPort,
            ConsolePort = machine.LaunchSpec?.ConsolePort,
            Placeholders = placeholders ?? new Dictionary<string, string>(),
        };
    }
}
