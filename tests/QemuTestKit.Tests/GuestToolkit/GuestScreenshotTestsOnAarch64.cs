namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="GuestScreenshotTests"/> on <c>tiny-uefi-aarch64</c> with ramfb (see <see cref="ToolkitGuestOnAarch64Uefi"/>).</summary>
public sealed class GuestScreenshotTestsOnAarch64(ToolkitGuestOnAarch64Uefi vm) : GuestScreenshotTests(vm), IClassFixture<ToolkitGuestOnAarch64Uefi>;
