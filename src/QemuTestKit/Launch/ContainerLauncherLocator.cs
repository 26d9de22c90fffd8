using System.Reflection;
using Microsoft.Extensions.Logging;

namespace QemuTestKit;

/// <summary>
/// Finds the container launcher for profiles with <c>"runner": "container"</c>. It lives in the QemuTestKit.Containers
/// package so that users who never run QEMU in a container never load Docker or Testcontainers; the core reaches it by
/// name, and only when such a profile is used.
/// </summary>
internal static class ContainerLauncherLocator
{
    private const string AssemblyName = "QemuTestKit.Containers";
    private const string TypeName = "QemuTestKit.Containers.ContainerQemuLauncher";

    /// <summary>The binary name QEMU has inside the image (the host may have no QEMU at all).</summary>
    public static string Binary(QemuProfile profile) => profile.QemuBinary is { Length: > 0 } binary ? Path.GetFileName(binary) : "qemu-system-" + profile.Arch;

    /// <exception cref="QemuProfileException">The QemuTestKit.Containers package is not referenced by the test project.</exception>
    public static IQemuLauncher Create(QemuProfile profile, ILogger? logger)
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(AssemblyName);
        }
        catch (FileNotFoundException ex)
        {
            throw new QemuProfileException(
                $"Profile '{profile.Name}' has runner 'container', which needs the {AssemblyName} package: `dotnet add package {AssemblyName}` in the test project (in {profile.Source}).",
                profile.Name, "runner", profile.Source, ex);
        }

        MethodInfo factory = assembly.GetType(TypeName, throwOnError: true)!
            .GetMethod("ForImage", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(ILogger)])
            ?? throw new MissingMethodException(TypeName, "ForImage");
        return (IQemuLauncher)factory.Invoke(null, [profile.ContainerImage, logger])!;
    }
}
