namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="GuestScreenshotTests"/> on <c>tiny-x86_64</c> with a VGA card.</summary>
public sealed class GuestScreenshotTestsOnX86_64(ToolkitGuestOnX86_64 vm) : GuestScreenshotTests(vm), IClassFixture<ToolkitGuestOnX86_64>;
