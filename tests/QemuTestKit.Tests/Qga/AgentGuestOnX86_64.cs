namespace QemuTestKit.Tests.Qga;

/// <summary>The <c>tiny-agent-x86_64</c> profile: the x86_64 tiny guest with its agent.</summary>
public sealed class AgentGuestOnX86_64() : AgentGuest(BuiltInProfiles.TinyAgentX86_64);
