using System.Net;
using Docker.DotNet;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace QemuTestKit.Containers;

/// <summary>
/// Runs QEMU in a Docker container through Testcontainers, for hosts that have Docker but no QEMU and for VMs on a
/// remote engine. Plug it into a machine with <c>QemuMachineOptions.Launcher</c>; QMP, the console, shutdown,
/// failures and logs then behave as with a local QEMU.
/// </summary>
/// <remarks>
/// <para>Unix-socket transport (a local engine): the folders of <see cref="QemuLaunchSpec.SharedDirectories"/> are
/// bind-mounted at the same paths, QEMU runs as this process's user with <c>--network none</c>, and QMP and the
/// console are the machine's usual unix sockets.</para>
/// <para>TCP transport (<c>DOCKER_HOST=tcp://…</c>): those folders are copied into the container before it starts, QEMU
/// listens for QMP and the console on TCP, and the machine connects to them: on a loopback engine through the host
/// network on 127.0.0.1, on a remote engine through published ports.</para>
/// <para>Every container is labelled with this test process (<c>qemutestkit.session</c>, <c>qemutestkit.owner</c>) and
/// removed when the process object is disposed; the first launch on an engine removes the containers of dead test
/// processes of this host (what a crashed run leaves when the Ryuk reaper is disabled).</para>
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

    /// <summary>The transport in use, with <see cref="QemuContainerTransport.Auto"/> resolved against the endpoint.</summary>
    /// <exception cref="QemuLaunchException">Auto was asked for and no Docker engine is configured.</exception>
    public QemuContainerTransport Transport => _options.Transport switch
    {
        QemuContainerTransport.Auto => _engine.Value.IsTcp ? QemuContainerTransport.Tcp : QemuContainerTransport.UnixSocket,
        QemuContainerTransport transport => transport,
    };

    /// <inheritdoc/>
    public bool QemuCanConnectToHost => Transport == QemuContainerTransport.UnixSocket;

    /// <inheritdoc/>
    public string QemuListenHost => Transport == QemuContainerTransport.Tcp && !HostNetwork ? "0.0.0.0" : "127.0.0.1";

    /// <summary>Whether the container shares the engine host's network: only TCP transport on a loopback engine.</summary>
    private bool HostNetwork => Transport == QemuContainerTransport.Tcp && _engine.Value.IsLoopback;

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

        ContainerBuilder builder = CreateBuilder(spec, engine, transport);
        IContainer container = builder.Build();
        IDockerClient client = engine.CreateClient();
        // QEMU's output goes to the log file from the first byte, as the local launcher's does.
        await File.WriteAllBytesAsync(spec.LogPath, [], cancellationToken).ConfigureAwait(false);
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

        LogStarted(_logger, container.Id[..12], _options.Image, engine.Endpoint, transport);
        bool hostNetwork = HostNetwork;
        string publishedHost = engine.PublishedPortHost;
        return ContainerQemuProcess.Watch(
            container,
            client,
            spec.LogPath,
            _logger,
            port => hostNetwork || transport == QemuContainerTransport.UnixSocket
                ? new DnsEndPoint("127.0.0.1", port)
                : new DnsEndPoint(publishedHost, container.GetMappedPublicPort(port)));
    }

    private ContainerBuilder CreateBuilder(QemuLaunchSpec spec, DockerEngine engine, QemuContainerTransport transport)
    {
        // The image has QEMU on its PATH; the host path of the binary means nothing inside the container.
        string binary = Path.GetFileName(spec.Binary);
        string[] entrypoint = [.. spec.Wrapper, binary];
        int number = Interlocked.Increment(ref s_counter);

        ContainerBuilder builder = new ContainerBuilder(_options.Image)
            .WithDockerEndpoint(engine.EndpointConfiguration)
            .WithLogger(_logger)
            .WithName($"qemutestkit-{OwnerProcess.SessionId}-{number}")
            .WithEntrypoint(entrypoint)
            .WithCommand([.. spec.Arguments])
            .WithLabel(_options.Labels)
            .WithLabel(ContainerLabels.Kit, ContainerLabels.SchemaVersion)
            .WithLabel(ContainerLabels.Session, OwnerProcess.SessionId)
            .WithLabel(ContainerLabels.Owner, OwnerProcess.Current)
            .WithLabel(ContainerLabels.Machine, Path.GetFileNameWithoutExtension(spec.LogPath))
            // The kit removes its containers itself (the reaper is often unavailable); Testcontainers must not pull.
            .WithCleanUp(false)
            .WithImagePullPolicy(_options.PullImage ? PullPolicy.Missing : _ => false);

        foreach ((string name, string? value) in spec.Environment)
        {
            if (value is not null)
            {
                builder = builder.WithEnvironment(name, value);
            }
        }

        if (transport == QemuContainerTransport.UnixSocket)
        {
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

        // A remote engine sees none of this host's files: copy the machine's own folders whole, and of the folders that
        // only hold files named on the command line (a kernel next to a hundred disk images) only those files.
        (IReadOnlyList<string> wholeFolders, IReadOnlyList<string> files) = ContainerPaths.ToCopy(spec);
        foreach (string folder in wholeFolders)
        {
            builder = builder.WithResourceMapping(new DirectoryInfo(folder), folder);
        }

        foreach (string file in files)
        {
            builder = builder.WithResourceMapping(new FileInfo(file), Path.GetDirectoryName(file)!);
        }

        if (engine.IsLoopback)
        {
            return builder.WithCreateParameterModifier(p => p.HostConfig!.NetworkMode = "host");
        }

        foreach (int port in spec.QemuListenPorts)
        {
            builder = builder.WithPortBinding(port, assignRandomHostPort: true);
        }

        return builder;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started QEMU container {Id} from {Image} on {Endpoint} ({Transport})")]
    private static partial void LogStarted(ILogger logger, string id, string image, Uri endpoint, QemuContainerTransport transport);
}
