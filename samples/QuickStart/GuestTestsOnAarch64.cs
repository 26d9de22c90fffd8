using QemuTestKit.Xunit;

namespace QuickStart;

/// <summary><see cref="GuestTests"/> on the aarch64 tiny guest (emulated by TCG on an x86_64 host; a few seconds more to boot).</summary>
[QemuMachine("tiny-aarch64")]
public sealed class GuestTestsOnAarch64(QemuVm vm, ITestOutputHelper output) : GuestTests(vm, output)
{
    /// <inheritdoc/>
    protected override string Architecture => "aarch64";
}
