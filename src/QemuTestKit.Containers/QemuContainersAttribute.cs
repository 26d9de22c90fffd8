using QemuTestKit.Sdk;

namespace QemuTestKit.Containers;

/// <summary>
/// Marks a test assembly whose profiles may say <c>"runner": "container"</c>: the xunit fixture then boots them with
/// <see cref="ContainerLauncherFactory"/>. Write <c>[assembly: QemuTestKit.Containers.QemuContainers]</c> once in the
/// test project.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false, Inherited = false)]
public sealed class QemuContainersAttribute : QemuContainerLauncherAttribute
{
    /// <inheritdoc/>
    public override IQemuLauncherFactory Factory => ContainerLauncherFactory.Instance;
}
