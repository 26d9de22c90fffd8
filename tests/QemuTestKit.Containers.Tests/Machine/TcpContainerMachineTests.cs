using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>
/// The scenarios on the engine reached over <c>tcp://127.0.0.1</c>, as a remote engine would be: files copied into the
/// container, QMP and console over TCP (host network on loopback here; published ports on a real remote engine).
/// </summary>
[Trait("Runner", "Container")]
public sealed class TcpContainerMachineTests : ContainerMachineScenarios
{
    private protected override QemuContainerOptions ContainerOptions => DockerTestEnvironment.TcpOptions;

    private protected override Uri? Endpoint => DockerTestEnvironment.TcpEndpoint;
}
