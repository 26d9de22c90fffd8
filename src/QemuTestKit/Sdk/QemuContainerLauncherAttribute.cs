namespace QemuTestKit.Sdk;

/// <summary>
/// Names, on a test assembly, the launcher factory for profiles with <c>"runner": "container"</c>: the xunit fixture
/// reads it, so such profiles boot without code. QemuTestKit.Containers derives <c>QemuContainersAttribute</c> from it
/// (<c>[assembly: QemuTestKit.Containers.QemuContainers]</c>). A derived type, not a type name: the compiler checks it.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false, Inherited = false)]
public abstract class QemuContainerLauncherAttribute : Attribute
{
    /// <summary>The factory of container launchers.</summary>
    public abstract IQemuLauncherFactory Factory { get; }
}
