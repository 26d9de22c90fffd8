namespace QemuTestKit.Sdk;

/// <summary>
/// Starts the QEMU process for a <see cref="QemuMachine"/>. The machine builds the command line, owns the
/// QMP and console connections and all shutdown semantics; a launcher only decides <em>where</em> the
/// process runs: <see cref="ProcessQemuLauncher"/> runs it on this host, a container launcher (see
/// <c>QemuTestKit.Containers</c>) runs it in a container.
/// </summary>
/// <remarks>
/// Sockets: when <see cref="QemuCanConnectToHost"/> is <see langword="true"/> (the default launcher, or a
/// container on this host that bind-mounts <see cref="QemuLaunchSpec.SharedDirectories"/>), QEMU connects
/// to a QMP socket the machine already listens on, so there is no start-up race. When it is
/// <see langword="false"/> (for example a remote Docker engine), QEMU listens instead
/// (<c>server=on,wait=off</c>) on TCP at <see cref="QemuListenHost"/> and the ports in
/// <see cref="QemuLaunchSpec.QemuListenPorts"/>, and the machine connects to
/// <see cref="IQemuProcess.ResolveTcpEndpoint"/> with retries, for QMP and the console alike.
/// </remarks>
public interface IQemuLauncher
{
    /// <summary>
    /// <see langword="true"/> when QEMU can connect to unix sockets under <see cref="QemuLaunchSpec.SocketDirectory"/>
    /// and to TCP listeners on this host's loopback; <see langword="false"/> when the machine must connect to QEMU instead.
    /// </summary>
    bool QemuCanConnectToHost { get; }

    /// <summary>
    /// The address QEMU binds its TCP listeners to when <see cref="QemuCanConnectToHost"/> is <see langword="false"/>:
    /// <c>127.0.0.1</c> for a process sharing this host's network, <c>0.0.0.0</c> for a container whose ports are published.
    /// </summary>
    string QemuListenHost { get; }

    /// <summary>
    /// Starts QEMU with <see cref="QemuLaunchSpec.CommandLine"/>, its standard output and error going to
    /// <see cref="QemuLaunchSpec.LogPath"/>, and returns as soon as the process runs (not when QEMU is ready).
    /// </summary>
    /// <exception cref="QemuLaunchException">The process could not be started (for example the binary does not exist).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<IQemuProcess> StartAsync(QemuLaunchSpec spec, CancellationToken cancellationToken = default);
}
