namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><c>tiny-aarch64</c> (emulated; user-mode NIC <c>net0</c> with <c>restrict=on</c>), without a display.</summary>
public sealed class ToolkitGuestOnAarch64() : ToolkitGuest(BuiltInProfiles.TinyAarch64)
{
    public override string Architecture => "aarch64";
}
