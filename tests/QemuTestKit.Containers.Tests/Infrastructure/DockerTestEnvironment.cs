using Docker.DotNet;
using Docker.DotNet.Models;

namespace QemuTestKit.Containers.Tests.Infrastructure;

/// <summary>
/// The Docker engines the container tests run against: the local one (DOCKER_HOST or the default socket) and a
/// TCP one on loopback (QTK_DOCKER_TCP_HOST), both prepared by <c>source build/docker/start-dockerd.sh</c>.
/// A missing engine is a failure that says how to start it, never a skip.
/// </summary>
internal static class DockerTestEnvironment
{
    public const string StartHint = "run `source build/docker/start-dockerd.sh` from the repository root (it starts a private loopback-only dockerd listening on a unix socket and on tcp://127.0.0.1, exports DOCKER_HOST, QTK_DOCKER_TCP_HOST and, for Docker 20.10, DOCKER_API_VERSION=1.41, and builds the QEMU image)";

    public static string Image => Environment.GetEnvironmentVariable("QTK_QEMU_IMAGE") is { Length: > 0 } image ? image : QemuContainerOptions.DefaultImage;

    /// <summary>The engine behind a TCP endpoint on loopback, for the remote-engine (TCP transport) tests.</summary>
    public static Uri TcpEndpoint =>
        Environment.GetEnvironmentVariable("QTK_DOCKER_TCP_HOST") is { Length: > 0 } tcp
            ? new Uri(tcp)
            : throw new InvalidOperationException($"QTK_DOCKER_TCP_HOST is not set, so there is no TCP Docker endpoint for the remote-engine tests; {StartHint}. An engine that already runs has no TCP endpoint: set QTK_DOCKER_TCP_HOST=tcp://127.0.0.1:<port> of an engine listening there, or source the script with QTK_DOCKER_PRIVATE=1.");

    /// <summary>
    /// The stand-in for a remote engine: a dockerd in its own network namespace, reached only through a forwarded
    /// loopback port (QTK_DOCKER_REMOTE_HOST, started by the script as root).
    /// </summary>
    public static Uri RemoteEndpoint =>
        Environment.GetEnvironmentVariable("QTK_DOCKER_REMOTE_HOST") is { Length: > 0 } remote
            ? new Uri(remote)
            : throw new InvalidOperationException($"QTK_DOCKER_REMOTE_HOST is not set, so there is no remote-engine stand-in (a dockerd in its own network namespace); {StartHint} as root (it starts one unless QTK_DOCKER_REMOTE=0).");

    /// <summary>The network namespace the remote engine runs in (QTK_DOCKER_REMOTE_NETNS).</summary>
    public static string RemoteNetworkNamespace =>
        Environment.GetEnvironmentVariable("QTK_DOCKER_REMOTE_NETNS") is { Length: > 0 } ns
            ? ns
            : throw new InvalidOperationException($"QTK_DOCKER_REMOTE_NETNS is not set; {StartHint} as root.");

    public static QemuContainerOptions RemoteOptions => new() { Image = Image, DockerEndpoint = RemoteEndpoint };

    public static QemuContainerOptions UnixSocketOptions => new() { Image = Image, Transport = QemuContainerTransport.UnixSocket };

    public static QemuContainerOptions TcpOptions => new() { Image = Image, DockerEndpoint = TcpEndpoint, Transport = QemuContainerTransport.Streams };

    /// <summary>The streams transport on the local engine (DOCKER_HOST, a unix socket here).</summary>
    public static QemuContainerOptions StreamsOptions => new() { Image = Image, Transport = QemuContainerTransport.Streams };

    /// <summary>
    /// The containers this test process started that still exist (running or not), as "id /name state";
    /// <paramref name="machine"/> narrows them to one machine's, so tests running in parallel do not see each other's.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ContainersOfThisSessionAsync(Uri? endpoint = null, string? machine = null)
    {
        IList<ContainerListResponse> list = await ListAsync(endpoint, machine);
        return [.. list.Select(c => $"{c.ID[..12]} {string.Join(",", c.Names)} {c.State}")];
    }

    public static async Task AssertNoContainersLeftAsync(Uri? endpoint = null, string? machine = null)
    {
        IReadOnlyList<string> left = await ContainersOfThisSessionAsync(endpoint, machine);
        Assert.True(left.Count == 0, "Containers left behind: " + string.Join("; ", left));
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to QEMU in the container of <paramref name="machine"/>: as <c>docker kill -s</c> does
    /// when QEMU is the main process, to QEMU's own PID when it runs under the streams supervisor.
    /// </summary>
    public static async Task SignalAsync(string machine, string signal, Uri? endpoint = null)
    {
        ContainerListResponse container = Assert.Single(await ListAsync(endpoint, machine));
        using IDockerClient client = DockerEngine.Resolve(endpoint).CreateClient();
        bool supervised = container.Labels.ContainsKey(ContainerLabels.Supervised);
        await ContainerSignals.SendAsync(client, container.ID, signal, supervised, TestContext.Current.CancellationToken);
    }

    private static async Task<IList<ContainerListResponse>> ListAsync(Uri? endpoint, string? machine)
    {
        using IDockerClient client = DockerEngine.Resolve(endpoint).CreateClient();
        var labels = new Dictionary<string, bool> { [$"{ContainerLabels.Session}={OwnerProcess.SessionId}"] = true };
        if (machine is not null)
        {
            labels[$"{ContainerLabels.Machine}={machine}"] = true;
        }

        return await client.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels } },
            TestContext.Current.CancellationToken);
    }
}
