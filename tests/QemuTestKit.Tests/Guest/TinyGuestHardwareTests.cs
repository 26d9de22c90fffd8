using System.Net;
using System.Net.Sockets;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// The hardware users attach to the x86_64 tiny guest, seen from inside it: disks on virtio, NVMe and IDE, a read-only
/// disk, and a user-mode NIC with <c>restrict=on</c>. One VM per test keeps the boots few on a two-core CI box.
/// </summary>
public sealed class TinyGuestHardwareTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new("qtk-guest-hw");

    public void Dispose() => _scratch.Dispose();

    [Fact(Timeout = 300_000)]
    public async Task Virtio_NVMe_IDE_and_read_only_disks_are_visible_and_read_in_the_guest()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string[] names = ["virtio", "nvme", "ide", "readonly"];
        foreach (string name in names)
        {
            await DiskImage.CreateExt2Async(Image(name), new Dictionary<string, string> { ["disk.txt"] = "on-" + name }, ct);
        }

        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyX86_64, p => p with
        {
            Drives =
            [
                new QemuDrive(Image("virtio")) { Format = "raw", Interface = "virtio" },
                new QemuDrive(Image("readonly")) { Format = "raw", Interface = "virtio", ReadOnly = true },
                new QemuDrive(Image("ide")) { Format = "raw", Interface = "ide" },
            ],
            // The profile's drives cannot name an id yet, and an NVMe controller needs one to find its drive.
            Args = ["-drive", $"file={Image("nvme")},format=raw,if=none,id=nvme0", "-device", "nvme,drive=nvme0,serial=qtk-nvme"],
        });
        await using TinyGuestVm vm = await TinyGuestVm.BootAsync(profile, ct);

        // virtio disks are vda, vdb in order; NVMe is nvme0n1; the IDE disk is the first SCSI disk (libata).
        var devices = new Dictionary<string, string> { ["virtio"] = "vda", ["readonly"] = "vdb", ["nvme"] = "nvme0n1", ["ide"] = "sda" };
        foreach ((string name, string device) in devices)
        {
            await vm.SucceedAsync($"mount -o ro /dev/{device} /mnt", ct);
            Assert.Equal("on-" + name, await vm.SucceedAsync("cat /mnt/disk.txt", ct));
            await vm.SucceedAsync("umount /mnt", ct);
        }

        Assert.Equal("0", await vm.SucceedAsync("cat /sys/block/vda/ro", ct));
        Assert.Equal("1", await vm.SucceedAsync("cat /sys/block/vdb/ro", ct));
        await vm.SucceedAsync("mount /dev/vda /mnt && echo written > /mnt/new.txt && umount /mnt", ct);
        ConsoleExecResult write = await vm.Console.ExecAsync("dd if=/dev/zero of=/dev/vdb bs=512 count=1 2>&1", cancellationToken: ct);
        Assert.NotEqual(0, write.ExitCode);
        Assert.Contains("Operation not permitted", write.Output, StringComparison.Ordinal);

        await vm.PowerOffAsync(ct);
        // The guest's write reached the writable image.
        Assert.Contains("written", await File.ReadAllTextAsync(Image("virtio"), ct), StringComparison.Ordinal);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_virtio_NIC_gets_a_DHCP_lease_serves_http_inside_and_restrict_on_keeps_the_host_out_of_reach()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // A service on the host's loopback: without restrict=on the guest would reach it as 10.0.2.2:<port>.
        using var hostService = new TcpListener(IPAddress.Loopback, 0);
        hostService.Start();
        int port = ((IPEndPoint)hostService.LocalEndpoint).Port;

        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyX86_64, p => p with
        {
            Args = ["-nic", "user,restrict=on,model=virtio-net-pci"],
        });
        await using TinyGuestVm vm = await TinyGuestVm.BootAsync(profile, ct);

        // /init took the lease before the ready marker: QEMU's user-mode DHCP server gives the first guest 10.0.2.15.
        Assert.Contains("inet 10.0.2.15/24", await vm.SucceedAsync("ip -4 addr show eth0", ct), StringComparison.Ordinal);

        // busybox httpd and nc: a server in the guest, reached from the guest itself.
        await vm.SucceedAsync("mkdir -p /tmp/www && echo served-by-httpd > /tmp/www/index.html && httpd -p 8080 -h /tmp/www", ct);
        string response = await vm.SucceedAsync("printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080", ct);
        Assert.Contains("served-by-httpd", response, StringComparison.Ordinal);

        ConsoleExecResult connect = await vm.Console.ExecAsync($"nc -w 5 10.0.2.2 {port} </dev/null 2>&1", cancellationToken: ct);
        Assert.NotEqual(0, connect.ExitCode);
        Assert.False(hostService.Pending(), "the guest's connection reached the host's loopback service");

        await vm.PowerOffAsync(ct);
    }

    private string Image(string name) => Path.Combine(_scratch.Path, name + ".img");
}
