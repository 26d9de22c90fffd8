namespace QemuTestKit.Tests.GuestToolkit;

/// <summary><see cref="WarmRestoreForwardTests"/> on <c>tiny-aarch64</c> (emulated on an x86_64 host).</summary>
public sealed class WarmRestoreForwardTestsOnAarch64() : WarmRestoreForwardTests(BuiltInProfiles.TinyAarch64);
