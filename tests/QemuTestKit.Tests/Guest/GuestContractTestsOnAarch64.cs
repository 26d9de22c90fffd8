namespace QemuTestKit.Tests.Guest;

/// <summary><see cref="GuestContractTests"/> on <c>tiny-aarch64</c> (emulated on an x86_64 host).</summary>
public sealed class GuestContractTestsOnAarch64() : GuestContractTests(BuiltInProfiles.TinyAarch64, "aarch64");
