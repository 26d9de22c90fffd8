namespace QemuTestKit.Sdk;

/// <summary>Everything an <see cref="IQemuLauncher"/> needs to start one QEMU process.</summary>
public sealed record QemuLaunchSpec
{
    /// <summary>The wrapper prefix (for example <c>gdb --args</c>), possibly empty.</summary>
    public required IReadOnlyList<string> Wrapper { get; init; }

    /// <summary>The QEMU binary as the user gave it.</summary>
    public required string Binary { get; init; }

    /// <summary>The arguments after the binary: the machine's base arguments, then the user's.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>The full command line: <see cref="Wrapper"/>, <see cref="Binary"/>, <see cref="Arguments"/>.</summary>
    public IReadOnlyList<string> CommandLine => [.. Wrapper, Binary, .. Arguments];

    /// <summary>The file that receives QEMU's standard output and standard error (created and truncated).</summary>
    public required string LogPath { get; init; }

    /// <summary>The folder holding the QMP and console unix sockets.</summary>
    public required string SocketDirectory { get; init; }

    /// <summary>
    /// Folders QEMU must see at the same paths (socket, temp and log folders, the folders of the QMP and console sockets
    /// and of <see cref="HostFiles"/>): a container launcher bind-mounts them.
    /// </summary>
    public required IReadOnlyList<string> SharedDirectories { get; init; }

    /// <summary>
    /// The host files QEMU opens (kernel, initrd, images; <see cref="QemuLaunchPlan.HostFiles"/> and
    /// <see cref="QemuMachineOptions.HostFiles"/>): a launcher that cannot share folders copies them.
    /// </summary>
    public IReadOnlyList<string> HostFiles { get; init; } = [];

    /// <summary>TCP ports QEMU listens on when the launcher said <see cref="IQemuLauncher.QemuCanConnectToHost"/> is false.</summary>
    public IReadOnlyList<int> QemuListenPorts { get; init; } = [];

    /// <summary>The TCP port of the QMP monitor (QEMU's or the machine's listener); null when QMP is on a unix socket or off.</summary>
    public int? MonitorPort { get; init; }

    /// <summary>The TCP port QEMU's console listens on; null when the console is a unix socket or there is none.</summary>
    public int? ConsolePort { get; init; }

    /// <summary>
    /// The unix socket QEMU connects to for QMP (the machine listens on it before the launch); null when QMP is on TCP
    /// or off. A launcher that runs QEMU elsewhere relays this path's connection.
    /// </summary>
    public string? MonitorPath { get; init; }

    /// <summary>
    /// The unix socket QEMU's console listens on (the machine connects to it after the launch); null when the console is
    /// on TCP or there is none. A launcher that runs QEMU elsewhere listens here itself and relays the connection.
    /// </summary>
    public string? ConsolePath { get; init; }

    /// <summary>
    /// The unix socket QEMU's guest agent chardev listens on (the machine connects to it once the guest is up); null when
    /// the agent is on TCP or there is none. A launcher that runs QEMU elsewhere relays it like <see cref="ConsolePath"/>.
    /// </summary>
    public string? GuestAgentPath { get; init; }

    /// <summary>The TCP port QEMU's guest agent chardev listens on; null when it is a unix socket or there is none.</summary>
    public int? GuestAgentPort { get; init; }

    /// <summary>
    /// The unix socket QEMU's gdb stub listens on (profile <c>gdb</c>, <c>QEMUTESTKIT_GDB</c>); null when the stub is off.
    /// A launcher that runs QEMU elsewhere relays it like <see cref="ConsolePath"/>, so <c>target remote</c> works from the host.
    /// </summary>
    public string? GdbPath { get; init; }

    /// <summary>Descriptors QEMU must inherit (<see cref="QemuMachine.AddFd"/>); only a local launcher can honour them.</summary>
    public IReadOnlyList<int> InheritedFileDescriptors { get; init; } = [];

    /// <summary>Environment variables to set (a <see langword="null"/> value removes one) on top of this process's environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// QEMU may be detached to outlive this process (<see cref="QemuMachineOptions.Detachable"/>): a local launcher then
    /// guards it with a guard it can remove (the watchdog), not the parent-death signal, which cannot be undone.
    /// </summary>
    public bool Detachable { get; init; }
}
