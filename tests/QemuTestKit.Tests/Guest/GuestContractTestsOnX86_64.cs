namespace QemuTestKit.Tests.Guest;

/// <summary><see cref="GuestContractTests"/> on <c>tiny-x86_64</c>.</summary>
public sealed class GuestContractTestsOnX86_64() : GuestContractTests(BuiltInProfiles.TinyX86_64, "x86_64");
