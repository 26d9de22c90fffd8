using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// Warm start (boot once, save, restore) works for the emulated aarch64 guest and for the UEFI disk boots as it does
/// for the x86_64 <c>-kernel</c> guest (WarmStartTests): firmware in pflash and a disk image are restored too.
/// </summary>
public sealed class TinyWarmStartTests : IDisposable
{
    private readonly ScratchDirectory _cache = new("qtk-warm-arch");
    private readonly BootedMachines _machines = new();

    [Theory(Timeout = 500_000)]
    [InlineData(BuiltInProfiles.TinyAarch64, "aarch64")]
    [InlineData(BuiltInProfiles.TinyUefiX86_64, "x86_64")]
    [InlineData(BuiltInProfiles.TinyUefiAarch64, "aarch64")]
    public async Task The_first_VM_saves_and_the_next_is_restored_at_the_prompt(string name, string arch)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(name);

        WarmStartResult saved = await LaunchAsync(profile, ct);
        WarmStartResult restored = await LaunchAsync(profile, ct);

        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.Null(restored.Warning);
        Assert.Equal(arch, await restored.Machine.Console.RunAsync("uname -m", profile.BootTimeout, ct));
        // Restored, not booted: the new console never saw the ready marker.
        Assert.DoesNotContain(BuiltInProfiles.TinyReadyMarker, restored.Machine.Console.Text, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: cold boot to prompt {saved.ReadyTime.TotalSeconds:F2} s, warm restore {restored.ReadyTime.TotalSeconds:F2} s");

        await _machines.ShutdownAllAsync(ct);
    }

    public void Dispose()
    {
        _machines.Dispose();
        _cache.Dispose();
    }

    private Task<WarmStartResult> LaunchAsync(QemuProfile profile, CancellationToken ct) =>
        _machines.WarmLaunchAsync(profile, new WarmStartOptions { CacheDirectory = _cache.Path }, ct);
}
