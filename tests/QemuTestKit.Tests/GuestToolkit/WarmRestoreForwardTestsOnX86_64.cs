namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="WarmRestoreForwardTests"/> on <c>tiny-x86_64</c>.</summary>
public sealed class WarmRestoreForwardTestsOnX86_64() : WarmRestoreForwardTests(BuiltInProfiles.TinyX86_64);
