using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace QemuTestKit.Containers;

/// <summary>
/// Removes the kit's containers that nobody needs any more: those whose owning test process on this host is dead
/// (what a crashed or killed run leaves when the Ryuk reaper is disabled, as here and on many CI hosts), those past
/// their expiry whatever host owns them, and supervised (streams) containers that have exited: their supervisor only
/// exits when QEMU has, and their owner got the exit status when it happened. Running containers of live owners
/// that have not expired are never touched.
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
        DateTimeOffset now = DateTimeOffset.UtcNow;
        foreach (ContainerListResponse container in containers)
        {
            if (container.Labels is null || !container.Labels.TryGetValue(ContainerLabels.Owner, out string? owner) || !IsLeftover(container, owner, now))
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

    internal static bool IsLeftover(ContainerListResponse container, string owner, DateTimeOffset now) =>
        OwnerProcess.IsStale(owner)
        || (container.Labels.TryGetValue(ContainerLabels.Expires, out string? expires)
            && long.TryParse(expires, System.Globalization.CultureInfo.InvariantCulture, out long seconds)
            && DateTimeOffset.FromUnixTimeSeconds(seconds) <= now)
        || (container.Labels.ContainsKey(ContainerLabels.Supervised) && container.State is "exited" or "dead");

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed leftover QEMU container {Id} (owner {Owner}: dead, expired or exited)")]
    private static partial void LogRemoved(ILogger logger, string id, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list leftover QEMU containers on {Endpoint}")]
    private static partial void LogListFailed(ILogger logger, Exception exception, Uri endpoint);
}
