namespace QemuTestKit.Tests.Qga;

/// <summary><see cref="AgentGuestTests"/> on <c>tiny-x86_64</c>.</summary>
public sealed class AgentGuestTestsOnX86_64(AgentGuestOnX86_64 vm) : AgentGuestTests(vm, "x86_64"), IClassFixture<AgentGuestOnX86_64>;
