using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace QemuTestKit.Containers;

/// <summary>Sends a signal to QEMU in a kit container, wherever QEMU is in it.</summary>
internal static class ContainerSignals
{
    /// <summary>
    /// Sends <paramref name="signal"/> (a name such as <c>STOP</c>) to QEMU: to the container's main process when QEMU is
    /// it, or, under the supervisor, to QEMU's PID through an exec session (a stopped supervisor would stop nothing).
    /// A container that is gone or not running is fine: there is nothing to signal.
    /// </summary>
    public static async Task SendAsync(IDockerClient client, string containerId, string signal, bool supervised, CancellationToken cancellationToken)
    {
        try
        {
            if (!supervised)
            {
                await client.Containers.KillContainerAsync(containerId, new ContainerKillParameters { Signal = signal }, cancellationToken).ConfigureAwait(false);
                return;
            }

            ContainerExecCreateResponse exec = await client.Exec.CreateContainerExecAsync(
                containerId,
                new ContainerExecCreateParameters
                {
                    AttachStdout = true,
                    AttachStderr = true,
                    Cmd = ["sh", "-c", $"kill -s \"$1\" \"$(cat {ContainerSupervisor.PidFile})\"", "signal", signal],
                },
                cancellationToken).ConfigureAwait(false);
            using MultiplexedStream stream = await client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), cancellationToken).ConfigureAwait(false);
            (string output, string error) = await stream.ReadOutputToEndAsync(cancellationToken).ConfigureAwait(false);
            ContainerExecInspectResponse result = await client.Exec.InspectContainerExecAsync(exec.ID, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"Could not send SIG{signal} to QEMU in container {containerId[..12]} (exit {result.ExitCode}): {output}{error}");
            }
        }
        catch (DockerContainerNotFoundException)
        {
            // Gone already.
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // "is not running": it exited between the check and the request.
        }
    }
}
