namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="GuestFileCopyTests"/> on <c>tiny-x86_64</c>: 5 MiB, twenty pieces.</summary>
public sealed class GuestFileCopyTestsOnX86_64(ToolkitGuestOnX86_64 vm) : GuestFileCopyTests(vm, 5 * 1024 * 1024), IClassFixture<ToolkitGuestOnX86_64>;
