using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>The scenarios on the local engine: bind-mounted folders, unix sockets, <c>--network none</c>.</summary>
[Trait("Runner", "Container")]
public sealed class UnixSocketContainerMachineTests : ContainerMachineScenarios
{
    private protected override QemuContainerOptions ContainerOptions => DockerTestEnvironment.UnixSocketOptions;

    private protected override Uri? Endpoint => null;
}
