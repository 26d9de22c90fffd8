namespace QemuTestKit.Containers;

/// <summary>How QEMU in a container and the test process reach each other for QMP and the console.</summary>
public enum QemuContainerTransport
{
    /// <summary>
    /// <see cref="UnixSocket"/> when the Docker endpoint is a unix socket (the engine runs on this host),
    /// <see cref="Tcp"/> when it is <c>tcp://</c> (the engine may be on another host).
    /// </summary>
    Auto,

    /// <summary>
    /// The engine runs on this host: the folders QEMU needs are bind-mounted at the same paths, QMP and the
    /// console stay unix sockets in the machine's socket folder, and the container has no network (<c>--network none</c>).
    /// </summary>
    UnixSocket,

    /// <summary>
    /// The engine may be remote: the files QEMU needs are copied into the container before it starts, and QEMU
    /// listens for QMP and the console on TCP. On a loopback engine the container shares the engine host's network
    /// and QEMU binds 127.0.0.1; on any other engine QEMU binds 0.0.0.0 in the container and its ports are published.
    /// </summary>
    Tcp,
}
