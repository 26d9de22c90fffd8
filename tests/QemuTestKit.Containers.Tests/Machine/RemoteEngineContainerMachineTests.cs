using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>
/// The scenarios on the remote-engine stand-in: a dockerd in its own network namespace, reached over TCP only through
/// a forwarded loopback port, with the default (streams) transport: QMP and the console inside the API connection.
/// </summary>
[Trait("Runner", "Container")]
public sealed class RemoteEngineContainerMachineTests : ContainerMachineScenarios
{
    private protected override QemuContainerOptions ContainerOptions => DockerTestEnvironment.RemoteOptions;

    private protected override Uri? Endpoint => DockerTestEnvironment.RemoteEndpoint;
}
