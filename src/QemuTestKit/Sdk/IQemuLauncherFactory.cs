using Microsoft.Extensions.Logging;

namespace QemuTestKit.Sdk;

/// <summary>
/// Makes the <see cref="IQemuLauncher"/> for a plan whose runner is not a local process: the extension point of runners
/// such as <see cref="QemuRunner.Container"/> (QemuTestKit.Containers implements it). Plug one in with
/// <see cref="QemuBootOptions.ContainerLauncher"/>, or for xunit tests with an assembly attribute derived from
/// <see cref="QemuContainerLauncherAttribute"/>.
/// </summary>
public interface IQemuLauncherFactory
{
    /// <summary>Creates the launcher for one machine of <paramref name="plan"/>.</summary>
    /// <param name="plan">The resolved plan (its profile names the image, its binary the program inside it).</param>
    /// <param name="logger">Receives the launcher's start-up details; may be null.</param>
    /// <exception cref="QemuProfileException">The plan cannot run with this launcher (for example no container image).</exception>
    IQemuLauncher Create(QemuLaunchPlan plan, ILogger? logger);
}
