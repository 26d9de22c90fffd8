using Microsoft.Extensions.Logging;

namespace QemuTestKit.Containers;

/// <summary>Settings of <see cref="ContainerQemuLauncher"/>: which image, which Docker engine, which transport.</summary>
public sealed record QemuContainerOptions
{
    /// <summary>The image QemuTestKit builds with <c>build/docker/build-qemu-image.sh</c>.</summary>
    public const string DefaultImage = "qemutestkit/qemu:local";

    /// <summary>
    /// The image that holds QEMU (the binary's file name, e.g. <c>qemu-system-x86_64</c>, must be on its PATH).
    /// Defaults to <see cref="DefaultImage"/>.
    /// </summary>
    public string Image { get; init; } = DefaultImage;

    /// <summary>
    /// The Docker engine, for example <c>unix:///var/run/docker.sock</c> or <c>tcp://build-host:2375</c>;
    /// <see langword="null"/> resolves it the way Testcontainers does (<c>DOCKER_HOST</c>, then the default socket).
    /// </summary>
    public Uri? DockerEndpoint { get; init; }

    /// <summary>How QMP and the console travel; <see cref="QemuContainerTransport.Auto"/> picks by the endpoint's scheme.</summary>
    public QemuContainerTransport Transport { get; init; } = QemuContainerTransport.Auto;

    /// <summary>
    /// Pull <see cref="Image"/> when the engine does not have it. Off by default: the kit never pulls unless asked,
    /// and a missing image is an error that says how to build it.
    /// </summary>
    public bool PullImage { get; init; }

    /// <summary>Extra labels for the containers (the kit adds its own <c>qemutestkit.*</c> labels).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// How long a container may live at most (default 6 hours): its <c>qemutestkit.expires</c> label. After that its
    /// supervisor kills QEMU (streams transport) and any kit process on the engine removes it, whoever owns it. This
    /// bounds leftovers even when the owner's host vanished without closing its connection.
    /// </summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Where the launcher logs container start, stop and clean-up; <see langword="null"/> logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
