using System.Net;

namespace QemuTestKit.Sdk;

/// <summary>A QEMU process started by an <see cref="IQemuLauncher"/>.</summary>
public interface IQemuProcess : IAsyncDisposable
{
    /// <summary>The process id on this host, or <see langword="null"/> when QEMU does not run here (a container).</summary>
    int? Pid { get; }

    /// <summary>Whether the process has exited (and been reaped).</summary>
    bool HasExited { get; }

    /// <summary>The exit status when QEMU exited normally; <see langword="null"/> while it runs or when a signal ended it.</summary>
    int? ExitCode { get; }

    /// <summary>The signal that ended QEMU (for example 9 for SIGKILL); <see langword="null"/> while it runs or when it exited normally.</summary>
    int? Signal { get; }

    /// <summary>Completes when the process has exited.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    Task WaitForExitAsync(CancellationToken cancellationToken = default);

    /// <summary>Kills the process (SIGKILL or the equivalent) if it still runs; does not wait for it to exit.</summary>
    Task KillAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Where this process connects to reach a TCP port QEMU listens on (one of <see cref="QemuLaunchSpec.QemuListenPorts"/>),
    /// for example a published port of a container. The local launcher returns <c>127.0.0.1:port</c>.
    /// </summary>
    DnsEndPoint ResolveTcpEndpoint(int port);
}
