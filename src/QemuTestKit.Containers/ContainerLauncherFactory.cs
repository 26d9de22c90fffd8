using Microsoft.Extensions.Logging;
using QemuTestKit.Sdk;

namespace QemuTestKit.Containers;

/// <summary>
/// Makes the <see cref="ContainerQemuLauncher"/> for plans with <c>"runner": "container"</c>: the profile's
/// <c>containerImage</c> (or <see cref="QemuContainerOptions.DefaultImage"/>) on the engine <c>DOCKER_HOST</c> names.
/// Give it to <c>QemuBootOptions.ContainerLauncher</c>, or mark a test assembly with <see cref="QemuContainersAttribute"/>.
/// </summary>
public sealed class ContainerLauncherFactory : IQemuLauncherFactory
{
    private ContainerLauncherFactory()
    {
    }

    /// <summary>The factory; it holds no state.</summary>
    public static ContainerLauncherFactory Instance { get; } = new();

    /// <inheritdoc/>
    public IQemuLauncher Create(QemuLaunchPlan plan, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return ContainerQemuLauncher.ForImage(plan.Profile.ContainerImage, logger);
    }
}
