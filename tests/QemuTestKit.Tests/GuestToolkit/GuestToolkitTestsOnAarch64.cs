namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="GuestToolkitTests"/> on <c>tiny-aarch64</c> (emulated on an x86_64 host).</summary>
public sealed class GuestToolkitTestsOnAarch64(ToolkitGuestOnAarch64 vm) : GuestToolkitTests(vm), IClassFixture<ToolkitGuestOnAarch64>;
