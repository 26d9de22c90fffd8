namespace QemuTestKit.Tests.Qga;

/// <summary>The <c>tiny-agent-aarch64</c> profile: the aarch64 tiny guest with its agent.</summary>
public sealed class AgentGuestOnAarch64() : AgentGuest(BuiltInProfiles.TinyAgentAarch64);
