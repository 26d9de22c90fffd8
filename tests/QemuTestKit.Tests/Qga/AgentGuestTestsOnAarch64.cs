namespace QemuTestKit.Tests.Qga;

/// <summary><see cref="AgentGuestTests"/> on <c>tiny-aarch64</c> (emulated).</summary>
public sealed class AgentGuestTestsOnAarch64(AgentGuestOnAarch64 vm) : AgentGuestTests(vm, "aarch64"), IClassFixture<AgentGuestOnAarch64>;
