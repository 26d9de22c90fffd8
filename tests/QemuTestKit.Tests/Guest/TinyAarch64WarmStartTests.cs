using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Guest;

/// <summary>Warm start (boot once, save, restore) works for the emulated aarch64 guest as it does for x86_64.</summary>
public sealed class TinyAarch64WarmStartTests : IDisposable
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(60);

    private readonly ScratchDirectory _cache = new("qtk-warm-arm");
    private readonly LeakCheck _leaks = new();
    private readonly List<QemuMachine> _machines = [];

    [Fact(Timeout = 400_000)]
    public async Task The_first_VM_saves_and_the_next_is_restored_at_the_prompt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyAarch64);

        WarmStartResult saved = await LaunchAsync(profile, ct);
        WarmStartResult restored = await LaunchAsync(profile, ct);

        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.Null(restored.Warning);
        Assert.Equal("aarch64", await restored.Machine.Console.RunAsync("uname -m", profile.BootTimeout, ct));
        // Restored, not booted: the new console never saw the ready marker.
        Assert.DoesNotContain(BuiltInProfiles.TinyReadyMarker, restored.Machine.Console.Text, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine($"tiny-aarch64: cold boot to prompt {saved.ReadyTime.TotalSeconds:F2} s, warm restore {restored.ReadyTime.TotalSeconds:F2} s");

        foreach (QemuMachine machine in _machines)
        {
            await machine.ShutdownAsync(timeout: ShutdownTimeout, cancellationToken: ct);
            Assert.Equal(0, machine.ExitCode);
        }

        await _leaks.AssertNothingLeftAsync();
    }

    public void Dispose()
    {
        foreach (QemuMachine machine in _machines.Where(m => m.IsRunning))
        {
            machine.KillAsync().GetAwaiter().GetResult();
        }

        _cache.Dispose();
    }

    private async Task<WarmStartResult> LaunchAsync(QemuProfile profile, CancellationToken ct)
    {
        WarmStartResult result = await WarmStartCache.LaunchAsync(
            profile,
            machineOptions: null,
            new WarmStartOptions { CacheDirectory = _cache.Path, Launched = _machines.Add },
            ct);
        _leaks.Record(result.Machine);
        return result;
    }
}
