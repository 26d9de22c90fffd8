using System.Net;
using QemuTestKit.Tests.Guest;
using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// Port forwarding on a VM restored by warm start (the forward is added after the restore, at run time), the same test
/// source on every architecture: one derived class per built-in tiny profile.
/// </summary>
public abstract class WarmRestoreForwardTests(string profileName) : IDisposable
{
    private readonly ScratchDirectory _cache = new("qtk-toolkit-warm");
    private readonly BootedMachines _machines = new();

    [Fact(Timeout = 600_000)]
    public async Task A_server_in_a_restored_vm_is_reached_through_a_forwarded_port()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // The tiny profiles have the user-mode NIC (netdev net0, restrict=on) of their own.
        QemuProfile profile = TinyGuestVm.BuiltIn(profileName);
        Assert.NotNull(profile.Network);

        WarmStartResult saved = await LaunchAsync(profile, ct);
        WarmStartResult restored = await LaunchAsync(profile, ct);
        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        await saved.Machine.ShutdownAsync(timeout: BootedMachines.ShutdownTimeout, cancellationToken: ct);

        var guest = new QemuGuest(restored.Machine);
        await restored.Machine.Console.RunAsync("mkdir -p /tmp/www && echo from-restored-vm > /tmp/www/index.html && httpd -p 8080 -h /tmp/www", cancellationToken: ct);
        await guest.WaitForOpenPortAsync(8080, cancellationToken: ct);
        IPEndPoint endpoint = await guest.ForwardPortAsync(8080, ct);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal("from-restored-vm\n", await http.GetStringAsync(new Uri($"http://{endpoint}/index.html"), ct));
        await _machines.ShutdownAllAsync(ct);
    }

    public void Dispose()
    {
        _machines.Dispose();
        _cache.Dispose();
        GC.SuppressFinalize(this);
    }

    private Task<WarmStartResult> LaunchAsync(QemuProfile profile, CancellationToken ct) =>
        _machines.WarmLaunchAsync(profile, new WarmStartOptions { CacheDirectory = _cache.Path }, ct);
}
