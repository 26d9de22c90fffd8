namespace QemuTestKit.Tests.Guest;

/// <summary>The aarch64 tiny guest under QEMU's <c>virt</c> machine: the same contract and drivers as on x86_64.</summary>
public sealed class TinyAarch64Tests : IDisposable
{
    private readonly Machine.ScratchDirectory _scratch = new("qtk-guest-arm");

    public void Dispose() => _scratch.Dispose();

    [Fact(Timeout = 300_000)]
    public async Task Boots_to_the_prompt_on_virt_reads_a_virtio_disk_gets_a_lease_and_powers_off()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string image = Path.Combine(_scratch.Path, "disk.img");
        await DiskImage.CreateExt2Async(image, new Dictionary<string, string> { ["disk.txt"] = "on-aarch64" }, ct);
        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyAarch64, p => p with
        {
            Drives = [new QemuDrive(image) { Format = "raw", Interface = "virtio", ReadOnly = true }],
            Args = [.. p.Args, "-nic", "user,restrict=on,model=virtio-net-pci"],
        });
        await using TinyGuestVm vm = await TinyGuestVm.BootAsync(profile, ct);

        Assert.Equal("qemu-system-aarch64", Path.GetFileName(vm.Machine.Binary));
        Assert.Equal("aarch64", await vm.Console.RunAsync("uname -m", profile.BootTimeout, ct));
        Assert.Contains("ttyAMA0", await vm.SucceedAsync("cat /proc/cmdline", ct), StringComparison.Ordinal);
        Assert.Equal("on-aarch64", await vm.SucceedAsync("mount -o ro /dev/vda /mnt && cat /mnt/disk.txt", ct));
        Assert.Contains("inet 10.0.2.15/24", await vm.SucceedAsync("ip -4 addr show eth0", ct), StringComparison.Ordinal);

        await vm.PowerOffAsync(ct);
    }
}
