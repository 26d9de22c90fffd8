namespace QemuTestKit;

/// <summary>
/// A VM kept running after its test process on purpose (<see cref="KeptVms"/>, <c>QEMUTESTKIT_KEEP</c>): where it is,
/// how to reach it and how to stop it. Read from the <c>kept.json</c> in its folder.
/// </summary>
/// <param name="Directory">Its folder under <see cref="KeptVms.Root"/>: the sockets and <c>kept.json</c>.</param>
/// <param name="Pid">QEMU's process id.</param>
/// <param name="StartTime">QEMU's start time (clock ticks after boot, from <c>/proc</c>): tells it from a process that reuses the pid.</param>
/// <param name="Description">Who kept it (the test class).</param>
/// <param name="ConsoleSocket">The serial console QEMU serves, or <see langword="null"/>.</param>
/// <param name="QmpSocket">The QMP monitor QEMU serves.</param>
/// <param name="GdbSocket">The gdb stub's socket, or <see langword="null"/>.</param>
/// <param name="ArtifactsDirectory">The test run's artifacts of this VM (logs), or <see langword="null"/>.</param>
/// <param name="KeptAtUtc">When it was kept.</param>
public sealed record KeptVm(
    string Directory,
    int Pid,
    ulong StartTime,
    string Description,
    string? ConsoleSocket,
    string QmpSocket,
    string? GdbSocket,
    string? ArtifactsDirectory,
    DateTime KeptAtUtc)
{
    /// <summary>Whether the kept QEMU still runs (the pid is alive and has the recorded start time).</summary>
    public bool IsRunning => ProcessStat.IsAlive(Pid, StartTime);

    /// <summary>A shell command that stops it and removes its folder: <c>kill &lt;pid&gt;; rm -rf '&lt;dir&gt;'</c>.</summary>
    public string StopCommand => $"kill {Pid}; rm -rf {Quote(Directory)}";

    /// <summary>A shell command that attaches a terminal to its serial console (<c>socat</c>; Ctrl-C leaves it), or <see langword="null"/>.</summary>
    public string? ConsoleCommand => ConsoleSocket is null ? null : $"socat -,raw,echo=0 UNIX-CONNECT:{Quote(ConsoleSocket)}";

    /// <summary>A shell command that opens its QMP monitor (send <c>{"execute":"qmp_capabilities"}</c> first).</summary>
    public string QmpCommand => $"socat - UNIX-CONNECT:{Quote(QmpSocket)}";

    /// <summary>A shell command that attaches gdb to its stub, or <see langword="null"/> when the stub is off.</summary>
    public string? GdbCommand => GdbSocket is null ? null : $"gdb -ex 'target remote {GdbSocket}'";

    /// <summary>What a person needs, one line each, ready to copy: console, QMP, gdb, pid, artifacts, stop.</summary>
    public string Instructions()
    {
        var lines = new List<string> { $"kept VM of {Description}: QEMU pid {Pid}, running (not paused) so its shell answers" };
        if (ConsoleCommand is { } console)
        {
            lines.Add("  console:   " + console);
        }

        lines.Add("  QMP:       " + QmpCommand);
        if (GdbCommand is { } gdb)
        {
            lines.Add("  gdb:       " + gdb);
        }

        if (ArtifactsDirectory is not null)
        {
            lines.Add("  artifacts: " + ArtifactsDirectory);
        }

        lines.Add("  stop:      " + StopCommand);
        return string.Join('\n', lines);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
