namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><c>tiny-x86_64</c> (user-mode NIC <c>net0</c> with <c>restrict=on</c>) with a VGA display.</summary>
public sealed class ToolkitGuestOnX86_64() : ToolkitGuest(BuiltInProfiles.TinyX86_64, p => p with { Display = QemuDisplay.Vga })
{
    public override string Architecture => "x86_64";
}
