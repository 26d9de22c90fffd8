namespace QemuTestKit.Containers;

/// <summary>How QEMU in a container and the test process reach each other for QMP and the console.</summary>
public enum QemuContainerTransport
{
    /// <summary><see cref="Streams"/>, whatever the engine.</summary>
    Auto,

    /// <summary>
    /// The engine runs on this host: the folders QEMU needs are bind-mounted at the same paths, QMP and the
    /// console stay unix sockets in the machine's socket folder, and the container has no network (<c>--network none</c>).
    /// Opt-in: it needs the engine to see this host's files.
    /// </summary>
    UnixSocket,

    /// <summary>
    /// Any engine (unix socket, loopback or remote TCP, TLS): QMP and the console travel inside the Docker API
    /// connection (the container's attached stdio and exec sessions), never on a listening port; the container has no
    /// network and publishes nothing; the files QEMU needs are copied in before it starts. QEMU runs under a supervisor
    /// that kills it when this process's attach stream ends, and the container removes itself.
    /// </summary>
    Streams,
}
