using System.Collections.Concurrent;
using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Configurations;
using Microsoft.Extensions.Logging;

namespace QemuTestKit.Containers;

/// <summary>
/// One Docker engine as the kit sees it: where it is (resolved like Testcontainers does), whether it answers, whether
/// it has the image, and the one-per-process clean-up of containers that crashed runs left behind.
/// </summary>
internal sealed class DockerEngine
{
    internal const string StartHint =
        "Start one and point DOCKER_HOST at it: in this repository `source build/docker/start-dockerd.sh` " +
        "(starts a private loopback-only dockerd and builds the QEMU image), elsewhere `sudo systemctl start docker` " +
        "or DOCKER_HOST=unix:///path/to/docker.sock | tcp://host:2375. Docker 20.10 engines (API 1.41) also need " +
        "DOCKER_API_VERSION=1.41, because Testcontainers 4 asks for API 1.44 by default.";

    private static readonly ConcurrentDictionary<Uri, Lazy<Task>> s_cleanedUp = new();

    private DockerEngine(IDockerEndpointAuthenticationConfiguration endpoint)
    {
        EndpointConfiguration = endpoint;
        Endpoint = endpoint.Endpoint;
    }

    public IDockerEndpointAuthenticationConfiguration EndpointConfiguration { get; }

    public Uri Endpoint { get; }

    /// <summary>Whether the engine is reached over TCP (and may therefore be on another host).</summary>
    public bool IsTcp => Endpoint.Scheme is "tcp" or "http" or "https";

    /// <summary>Whether a TCP engine listens on this host's loopback, so the host network of a container is this host's.</summary>
    public bool IsLoopback =>
        IsTcp && (string.Equals(Endpoint.Host, "localhost", StringComparison.OrdinalIgnoreCase)
                  || (IPAddress.TryParse(Endpoint.Host.Trim('[', ']'), out IPAddress? address) && IPAddress.IsLoopback(address)));

    /// <summary>The host name or address to reach ports the engine publishes.</summary>
    public string PublishedPortHost => IsTcp ? Endpoint.Host : "127.0.0.1";

    /// <exception cref="QemuLaunchException">No engine is configured or found, or its TLS files (DOCKER_CERT_PATH) are missing.</exception>
    public static DockerEngine Resolve(Uri? endpoint) => Resolve(endpoint, Environment.GetEnvironmentVariable);

    /// <summary>
    /// The engine <paramref name="endpoint"/> names, else <c>DOCKER_HOST</c>, else what Testcontainers finds; a TCP
    /// engine gets TLS when <paramref name="environment"/> asks for it as Docker's clients read it.
    /// </summary>
    /// <exception cref="QemuLaunchException">No engine is configured or found, or its TLS files (DOCKER_CERT_PATH) are missing.</exception>
    internal static DockerEngine Resolve(Uri? endpoint, Func<string, string?> environment)
    {
        if (endpoint is null && Uri.TryCreate(environment("DOCKER_HOST"), UriKind.Absolute, out Uri? host) && host.Scheme == "tcp")
        {
            // A TCP DOCKER_HOST is resolved here, so its TLS is read the same way as for an explicit endpoint.
            endpoint = host;
        }

        if (endpoint is not null)
        {
            return new DockerEngine(new DockerEndpointAuthenticationConfiguration(endpoint, endpoint.Scheme == "unix" ? null : DockerTls.FromEnvironment(endpoint, environment)));
        }

        IDockerEndpointAuthenticationConfiguration? resolved;
        try
        {
            resolved = TestcontainersSettings.OS.DockerEndpointAuthConfig;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw Unavailable("(none found)", ex);
        }

        if (resolved is null && Uri.TryCreate(Environment.GetEnvironmentVariable("DOCKER_HOST"), UriKind.Absolute, out Uri? dockerHost))
        {
            // Testcontainers drops an endpoint that does not answer its probe (an engine older than API 1.44 without
            // DOCKER_API_VERSION, or one that is down): keep it, so the readiness check can say which of the two it is.
            resolved = new DockerEndpointAuthenticationConfiguration(dockerHost);
        }

        return resolved is null ? throw Unavailable("(none found: DOCKER_HOST is not set and no default socket answers)", null) : new DockerEngine(resolved);
    }

    public IDockerClient CreateClient() => EndpointConfiguration.GetDockerClientBuilder(Guid.NewGuid()).Build();

    /// <summary>Checks that the engine answers and has <paramref name="image"/> (unless it may be pulled).</summary>
    /// <exception cref="QemuLaunchException">The engine does not answer, refuses the API version, or lacks the image.</exception>
    public async Task EnsureReadyAsync(string image, bool mayPull, CancellationToken cancellationToken)
    {
        using IDockerClient client = CreateClient();
        try
        {
            await client.System.PingAsync(cancellationToken).ConfigureAwait(false);
            await client.System.GetVersionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(Endpoint.ToString(), ex);
        }

        if (mayPull)
        {
            return;
        }

        try
        {
            await client.Images.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerImageNotFoundException ex)
        {
            throw new QemuLaunchException(
                $"The Docker engine at {Endpoint} has no image '{image}', and the kit does not pull unless asked " +
                $"(QemuContainerOptions.PullImage). Build it with `bash build/docker/build-qemu-image.sh` (IMAGE={image}), " +
                "or `docker build` the Dockerfile shown in the README (\"QEMU in a container\").", ex);
        }
    }

    /// <summary>Removes, once per process and engine, the containers that dead test processes on this host left behind.</summary>
    public Task RemoveLeftoversOnceAsync(ILogger logger, CancellationToken cancellationToken)
    {
        Lazy<Task> once = s_cleanedUp.GetOrAdd(Endpoint, _ => new Lazy<Task>(() => LeftoverContainers.RemoveAsync(this, logger)));
        return once.Value.WaitAsync(cancellationToken);
    }

    internal static QemuLaunchException Unavailable(string endpoint, Exception? cause)
    {
        string reason = cause is null ? "" : $": {cause.GetType().Name}: {Flatten(cause)}";
        if (cause is not null && Flatten(cause).Contains("too new", StringComparison.OrdinalIgnoreCase))
        {
            return new QemuLaunchException(
                $"The Docker engine at {endpoint} refuses the API version Testcontainers asks for{reason}. " +
                "Set DOCKER_API_VERSION to the engine's version (1.41 for Docker 20.10); Docker 23+ hosts need nothing.", cause);
        }

        if (cause is not null && IsTlsFailure(cause))
        {
            return new QemuLaunchException(
                $"The TLS handshake with the Docker engine at {endpoint} failed{reason}. The engine does not speak TLS, or does not " +
                "trust the client certificate, or its own certificate is not signed by ca.pem: check DOCKER_CERT_PATH (ca.pem, cert.pem, " +
                "key.pem for this engine) and DOCKER_TLS_VERIFY, and that DOCKER_HOST names the engine's TLS port (2376 by convention).", cause);
        }

        return new QemuLaunchException($"No Docker engine answers at {endpoint}{reason}. {StartHint}", cause);
    }

    private static bool IsTlsFailure(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static string Flatten(Exception ex)
    {
        var parts = new List<string>();
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            parts.Add(e.Message.Trim());
        }

        return string.Join(" -> ", parts.Distinct());
    }
}
