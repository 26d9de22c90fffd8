using QemuTestKit.Xunit;

namespace QuickStart;

/// <summary><see cref="GuestTests"/> on the x86_64 tiny guest.</summary>
[QemuMachine("tiny-x86_64")]
public sealed class GuestTestsOnX86_64(QemuVm vm, ITestOutputHelper output) : GuestTests(vm, output)
{
    /// <inheritdoc/>
    protected override string Architecture => "x86_64";
}
