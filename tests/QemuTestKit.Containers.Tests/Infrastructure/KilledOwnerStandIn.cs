using System.Runtime.CompilerServices;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Containers.Tests.Infrastructure;

/// <summary>
/// A test host to kill: when this test executable starts with <see cref="EndpointVariable"/> set, it launches a bare
/// machine in a streams container on that engine, prints <see cref="ReadyLine"/> and the machine's name, and blocks
/// until it is killed. The safety tests SIGKILL it and watch what the engine keeps.
/// </summary>
internal static class KilledOwnerStandIn
{
    public const string EndpointVariable = "QTK_STANDIN_ENDPOINT";

    public const string ReadyLine = "QTK-STANDIN-READY";

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "The test executable doubles as the test host the safety tests kill; nothing else starts it so.")]
    internal static void RunIfAsked()
    {
        if (Environment.GetEnvironmentVariable(EndpointVariable) is not { Length: > 0 } endpoint)
        {
            return;
        }

        try
        {
            var options = new QemuMachineOptions
            {
                Launcher = new ContainerQemuLauncher(new QemuContainerOptions { Image = DockerTestEnvironment.Image, DockerEndpoint = new Uri(endpoint) }),
                QmpTimer = TimeSpan.FromSeconds(90),
            };
            QemuMachine machine = MachineFactory.Bare(options);
            machine.LaunchAsync().GetAwaiter().GetResult();
            Console.Out.WriteLine($"{ReadyLine} {machine.Name}");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine(ex);
            Environment.Exit(3);
        }
    }
}
