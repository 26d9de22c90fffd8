using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using QemuTestKit.Sdk;

namespace QemuTestKit.Containers;

/// <summary>
/// Starts QEMU for <see cref="QemuContainerTransport.Streams"/>: one code path for every engine (unix socket, loopback
/// TCP, remote TCP with TLS). The order is what makes it safe and lossless: create (no network, no published port,
/// owner and expiry labels) → copy the files in → attach stdio → start → ask for the exit status → relay
/// QMP to the machine's socket → send the go line. QEMU therefore connects to QMP before the guest runs, as it does
/// locally, and lives only as long as this process holds the attach stream.
/// </summary>
internal static class StreamsContainer
{
    public static async Task<IQemuProcess> StartAsync(
        QemuContainerOptions options, DockerEngine engine, QemuLaunchSpec spec, string name, ILogger logger, CancellationToken cancellationToken)
    {
        IDockerClient client = engine.CreateClient();
        string? id = null;
        ContainerChannels? channels = null;
        try
        {
            DateTimeOffset expires = DateTimeOffset.UtcNow + options.MaxLifetime;
            CreateContainerResponse created = await client.Containers.CreateContainerAsync(
                CreateParameters(options, spec, name, expires),
                cancellationToken).ConfigureAwait(false);
            id = created.ID;

            (IReadOnlyList<string> folders, IReadOnlyList<string> files) = ContainerPaths.ToCopy(spec);
            await ContainerFileCopy.CopyAsync(client, id, folders, files, cancellationToken).ConfigureAwait(false);

            channels = await ContainerChannels.AttachAsync(client, id, logger, cancellationToken).ConfigureAwait(false);

            await client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken).ConfigureAwait(false);

            // Asked once the container runs: a wait that reaches the engine while it is only created returns 0 at once.
            // Whenever it arrives, it reports the real status: the container stays until disposal removes it.
            Task<ContainerWaitResponse?> wait = WaitAsync(client, id);
            await channels.StartAsync(spec.MonitorPath, ServedPaths(spec), spec.LogPath, cancellationToken).ConfigureAwait(false);

            ContainerChannels started = channels;
            return ContainerQemuProcess.Watch(id, client, logger, wait, _ => started.Output, started.DisposeAsync);
        }
        catch (Exception ex)
        {
            if (channels is not null)
            {
                await channels.DisposeAsync().ConfigureAwait(false);
            }

            if (id is not null)
            {
                await ContainerQemuProcess.RemoveAsync(id, client).ConfigureAwait(false);
            }

            client.Dispose();
            if (ex is OperationCanceledException || ex is QemuLaunchException)
            {
                throw;
            }

            throw new QemuLaunchException(
                $"Docker could not start QEMU's container (image {options.Image}, engine {engine.Endpoint}{(id is null ? "" : ", container " + id[..12])}): {ex.Message}",
                ex);
        }
    }

    /// <summary>The unix sockets QEMU serves that the machine connects to, each relayed into the container at the same path.</summary>
    internal static IReadOnlyList<string> ServedPaths(QemuLaunchSpec spec) =>
        [.. new[] { spec.ConsolePath, spec.GuestAgentPath, spec.GdbPath }.OfType<string>()];

    private static async Task<ContainerWaitResponse?> WaitAsync(IDockerClient client, string id)
    {
        try
        {
            return await client.Containers.WaitContainerAsync(id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // Removed by someone else (a kit process judging it a leftover): its status is unknown, reported as killed.
            return new ContainerWaitResponse { StatusCode = 128 + 9 };
        }
    }

    private static CreateContainerParameters CreateParameters(QemuContainerOptions options, QemuLaunchSpec spec, string name, DateTimeOffset expires)
    {
        // The image has QEMU on its PATH; the host path of the binary means nothing inside the container.
        string binary = Path.GetFileName(spec.Binary);
        var labels = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal);
        foreach ((string key, string value) in ContainerLabels.For(spec, expires, supervised: true))
        {
            labels[key] = value;
        }

        return new CreateContainerParameters
        {
            Name = name,
            Image = options.Image,
            Entrypoint = [.. ContainerSupervisor.Entrypoint],
            Cmd = [.. spec.Wrapper, binary, .. spec.Arguments],
            Env = [.. ContainerSupervisor.Environment(spec.MonitorPath, expires), .. spec.Environment.Where(e => e.Value is not null).Select(e => $"{e.Key}={e.Value}")],
            Labels = labels,
            // The attach stream is the owner's lifeline: stdin stays open until the first attached client goes.
            OpenStdin = true,
            StdinOnce = true,
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            Tty = false,
            HostConfig = new HostConfig
            {
                // No network at all: QMP and the console travel inside the Docker API connection, and no port is published.
                NetworkMode = "none",
                // Not auto-remove: the engine's wait then reports 0 for any exit (Docker 20.10). An exited supervised
                // container is removed by its owner's dispose, or by the next kit process on the engine.
            },
        };
    }
}
