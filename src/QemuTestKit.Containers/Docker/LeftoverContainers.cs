using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace QemuTestKit.Containers;

/// <summary>
/// Removes the kit's containers whose owning test process on this host is dead: what a crashed or killed run leaves
/// when the Ryuk reaper is disabled (it is here, and on many CI hosts). Containers of live processes and of other
/// hosts are never touched.
/// </summary>
internal static partial class LeftoverContainers
{
    public static async Task<int> RemoveAsync(DockerEngine engine, ILogger logger, CancellationToken cancellationToken = default)
    {
        using IDockerClient client = engine.CreateClient();
        IList<ContainerListResponse> containers;
        try
        {
            containers = await client.Containers.ListContainersAsync(
                new ContainersListParameters
                {
                    All = true,
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["label"] = new Dictionary<string, bool> { [ContainerLabels.Owner] = true },
                    },
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException ex)
        {
            LogListFailed(logger, ex, engine.Endpoint);
            return 0;
        }

        int removed = 0;
        foreach (ContainerListResponse container in containers)
        {
            if (container.Labels is null || !container.Labels.TryGetValue(ContainerLabels.Owner, out string? owner) || !OwnerProcess.IsStale(owner))
            {
                continue;
            }

            try
            {
                await client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true }, cancellationToken).ConfigureAwait(false);
                removed++;
                LogRemoved(logger, container.ID[..12], owner);
            }
            catch (DockerContainerNotFoundException)
            {
                // Another process cleaning up at the same moment got it first.
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // "removal already in progress": the same race.
            }
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed leftover QEMU container {Id} of dead test process {Owner}")]
    private static partial void LogRemoved(ILogger logger, string id, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list leftover QEMU containers on {Endpoint}")]
    private static partial void LogListFailed(ILogger logger, Exception exception, Uri endpoint);
}
