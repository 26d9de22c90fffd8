namespace QemuTestKit.Tests.Qga;

/// <summary>The <c>tiny-aarch64</c> guest with its agent.</summary>
public sealed class AgentGuestOnAarch64() : AgentGuest(BuiltInProfiles.TinyAarch64);
