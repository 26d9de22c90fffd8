namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="GuestToolkitTests"/> on <c>tiny-x86_64</c>.</summary>
public sealed class GuestToolkitTestsOnX86_64(ToolkitGuestOnX86_64 vm) : GuestToolkitTests(vm), IClassFixture<ToolkitGuestOnX86_64>;
