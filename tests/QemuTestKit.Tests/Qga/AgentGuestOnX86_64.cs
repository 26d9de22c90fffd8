namespace QemuTestKit.Tests.Qga;

/// <summary>The <c>tiny-x86_64</c> guest with its agent.</summary>
public sealed class AgentGuestOnX86_64() : AgentGuest(BuiltInProfiles.TinyX86_64);
