using System.Net;
using Docker.DotNet;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Sdk;

namespace QemuTestKit.Containers;

/// <summary>
/// Runs QEMU in a Docker container, for hosts that have Docker but no QEMU and for VMs on a remote engine. Plug it
/// into a machine with <c>QemuMachineOptions.Launcher</c>; QMP, the console, shutdown, failures and logs then behave as
/// with a local QEMU.
/// </summary>
/// <remarks>
/// <para>Streams transport (the default, for every engine: unix socket, loopback TCP, remote TCP with TLS): QEMU's
/// channels travel inside the Docker API connection, never on a port. The container runs QEMU under a small
/// supervisor with no network; QMP is the container's attached stdio (QEMU connects to it before the guest runs, so
/// no event is lost), QEMU's output its stderr, and each connection to the console or guest agent socket an exec
/// session joining that socket of QEMU's. The files QEMU needs are copied in before it starts.</para>
/// <para>Unix-socket transport (a local engine, opt-in): the folders of <see cref="QemuLaunchSpec.SharedDirectories"/>
/// are bind-mounted at the same paths, QEMU runs as this process's user with <c>--network none</c>, and QMP and the
/// console are the machine's usual unix sockets.</para>
/// <para>Every container is labelled with this test process (<c>qemutestkit.session</c>, <c>qemutestkit.owner</c>) and an
/// expiry (<c>qemutestkit.expires</c>), and removed when the process object is disposed. A streams container also
/// ends by itself within about a second when this process dies (the attach stream ends, the supervisor kills QEMU,
/// and the engine removes the container); the first launch on an engine removes the containers of dead test
/// processes of this host and every expired kit container.</para>
/// <para>A container VM is never detached to outlive its test process (<see cref="QemuLaunchSpec.Detachable"/> is not
/// honoured; <c>QemuMachine.DetachAsync</c> refuses such a machine): its lifetime is its container's, which the rules
/// above end. The xunit fixture therefore does not keep container VMs under <c>QEMUTESTKIT_KEEP</c>, and says so.</para>
/// </remarks>
public sealed partial class ContainerQemuLauncher : IQemuLauncher
{
    private static int s_counter;

    private readonly QemuContainerOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<DockerEngine> _engine;

    /// <summary>Creates a launcher; nothing touches Docker until the first <see cref="StartAsync"/>.</summary>
    public ContainerQemuLauncher(QemuContainerOptions? options = null)
    {
        _options = options ?? new QemuContainerOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(_options.Image, nameof(options));
        _logger = _options.Logger ?? NullLogger.Instance;
        _engine = new Lazy<DockerEngine>(() => DockerEngine.Resolve(_options.DockerEndpoint));
    }

    /// <summary>
    /// A launcher for <paramref name="image"/> (<see langword="null"/>: <see cref="QemuContainerOptions.DefaultImage"/>) on
    /// the engine <c>DOCKER_HOST</c> names. Profiles with <c>"runner": "container"</c> get their launcher from here, through <see cref="ContainerLauncherFactory"/>.
    /// </summary>
    public static ContainerQemuLauncher ForImage(string? image, ILogger? logger = null) =>
        new(new QemuContainerOptions { Image = string.IsNullOrWhiteSpace(image) ? QemuContainerOptions.DefaultImage : image, Logger = logger });

    /// <summary>The transport in use: <see cref="QemuContainerTransport.Auto"/> is <see cref="QemuContainerTransport.Streams"/>.</summary>
    public QemuContainerTransport Transport => _options.Transport == QemuContainerTransport.Auto ? QemuContainerTransport.Streams : _options.Transport;

    /// <inheritdoc/>
    /// <remarks>Always <see langword="true"/>: QEMU connects to the machine's QMP socket (bind-mounted, or relayed through the attach stream).</remarks>
    public bool QemuCanConnectToHost => true;

    /// <inheritdoc/>
    /// <remarks>Unused: QEMU in a kit container never listens on TCP.</remarks>
    public string QemuListenHost => "127.0.0.1";

    /// <inheritdoc/>
    /// <exception cref="QemuLaunchException">
    /// Docker does not answer (the message says how to start it), the image is missing, the request cannot be honoured
    /// in a container (inherited file descriptors), or the container could not be created or started.
    /// </exception>
    public async Task<IQemuProcess> StartAsync(QemuLaunchSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.InheritedFileDescriptors.Count > 0)
        {
            throw new QemuLaunchException(
                "QEMU in a container cannot inherit file descriptors (QemuMachine.AddFd); use the local launcher for this machine.", null);
        }

        DockerEngine engine = _engine.Value;
        QemuContainerTransport transport = Transport;
        await engine.EnsureReadyAsync(_options.Image, _options.PullImage, cancellationToken).ConfigureAwait(false);
        await engine.RemoveLeftoversOnceAsync(_logger, cancellationToken).ConfigureAwait(false);

        string name = $"qemutestkit-{OwnerProcess.SessionId}-{Interlocked.Increment(ref s_counter)}";
        // QEMU's output goes to the log file from the first byte, as the local launcher's does.
        await File.WriteAllBytesAsync(spec.LogPath, [], cancellationToken).ConfigureAwait(false);
        IQemuProcess process;
        string id;
        if (transport == QemuContainerTransport.UnixSocket)
        {
            (process, id) = await StartBindMountedAsync(spec, engine, name, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (spec.MonitorPort is not null || spec.ConsolePort is not null || spec.GuestAgentPort is not null)
            {
                throw new QemuLaunchException(
                    "QEMU in a container never listens on TCP: give the machine a unix QMP socket (QemuMachineOptions.MonitorAddress) or none, "
                    + "and unix sockets for its console and guest agent (what a machine gives them when its launcher connects to the host, as this one does).",
                    null);
            }

            process = await StreamsContainer.StartAsync(_options, engine, spec, name, _logger, cancellationToken).ConfigureAwait(false);
            id = ((ContainerQemuProcess)process).ContainerId;
        }

        LogStarted(_logger, id[..12], _options.Image, engine.Endpoint, transport);
        return process;
    }

    private async Task<(IQemuProcess Process, string Id)> StartBindMountedAsync(QemuLaunchSpec spec, DockerEngine engine, string name, CancellationToken cancellationToken)
    {
        IContainer container = CreateBuilder(spec, engine, name).Build();
        IDockerClient client = engine.CreateClient();
        try
        {
            await container.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ContainerNotRunningException)
        {
            // QEMU exited before Testcontainers saw the container running (a bad argument, a missing file): that is a
            // QEMU exit like any other, and the machine reports it with the exit status and the output.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            string id = container.Id;
            await ContainerQemuProcess.RemoveAsync(container, client).ConfigureAwait(false);
            client.Dispose();
            throw new QemuLaunchException(
                $"Docker could not start QEMU's container (image {_options.Image}, engine {engine.Endpoint}{(string.IsNullOrEmpty(id) ? "" : ", container " + id)}): {ex.Message}",
                ex);
        }
        catch (OperationCanceledException)
        {
            await ContainerQemuProcess.RemoveAsync(container, client).ConfigureAwait(false);
            client.Dispose();
            throw;
        }

        return (ContainerQemuProcess.Watch(container, client, spec.LogPath, _logger, port => new DnsEndPoint("127.0.0.1", port)), container.Id);
    }

    private ContainerBuilder CreateBuilder(QemuLaunchSpec spec, DockerEngine engine, string name)
    {
        // The image has QEMU on its PATH; the host path of the binary means nothing inside the container.
        string binary = Path.GetFileName(spec.Binary);
        string[] entrypoint = [.. spec.Wrapper, binary];

        ContainerBuilder builder = new ContainerBuilder(_options.Image)
            .WithDockerEndpoint(engine.EndpointConfiguration)
            .WithLogger(_logger)
            .WithName(name)
            .WithEntrypoint(entrypoint)
            .WithCommand([.. spec.Arguments])
            .WithLabel(_options.Labels)
            .WithLabel(ContainerLabels.For(spec, DateTimeOffset.UtcNow + _options.MaxLifetime, supervised: false).ToDictionary())
            // The kit removes its containers itself (the reaper is often unavailable); Testcontainers must not pull.
            .WithCleanUp(false)
            .WithImagePullPolicy(_options.PullImage ? PullPolicy.Missing : _ => false);

        foreach ((string variable, string? value) in spec.Environment)
        {
            if (value is not null)
            {
                builder = builder.WithEnvironment(variable, value);
            }
        }

        foreach (string folder in ContainerPaths.For(spec))
        {
            builder = builder.WithBindMount(folder, folder, AccessMode.ReadWrite);
        }

        string user = UnixUser.DockerUser;
        return builder.WithCreateParameterModifier(p =>
        {
            p.User = user;
            p.HostConfig!.NetworkMode = "none";
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started QEMU container {Id} from {Image} on {Endpoint} ({Transport})")]
    private static partial void LogStarted(ILogger logger, string id, string image, Uri endpoint, QemuContainerTransport transport);
}
