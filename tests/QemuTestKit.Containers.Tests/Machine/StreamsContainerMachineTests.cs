using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>The scenarios on the local engine's unix socket with the streams transport: the same code path as remote.</summary>
[Trait("Runner", "Container")]
public sealed class StreamsContainerMachineTests : ContainerMachineScenarios
{
    private protected override QemuContainerOptions ContainerOptions => DockerTestEnvironment.StreamsOptions;

    private protected override Uri? Endpoint => null;
}
