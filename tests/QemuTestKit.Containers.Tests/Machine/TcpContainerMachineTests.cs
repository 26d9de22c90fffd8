using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>
/// The scenarios on the local engine reached over <c>tcp://127.0.0.1</c> with the streams transport: files copied into
/// the container, QMP and the console inside the API connection.
/// </summary>
[Trait("Runner", "Container")]
public sealed class TcpContainerMachineTests : ContainerMachineScenarios
{
    private protected override QemuContainerOptions ContainerOptions => DockerTestEnvironment.TcpOptions;

    private protected override Uri? Endpoint => DockerTestEnvironment.TcpEndpoint;
}
