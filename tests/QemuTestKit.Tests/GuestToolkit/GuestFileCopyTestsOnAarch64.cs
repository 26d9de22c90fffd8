namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// <see cref="GuestFileCopyTests"/> on <c>tiny-aarch64</c>: 300 KiB (a whole piece and a partial one), which keeps the
/// emulated guest's share of CI time small; x86_64 copies 5 MiB through the same code.
/// </summary>
public sealed class GuestFileCopyTestsOnAarch64(ToolkitGuestOnAarch64 vm) : GuestFileCopyTests(vm, 300 * 1024), IClassFixture<ToolkitGuestOnAarch64>;
