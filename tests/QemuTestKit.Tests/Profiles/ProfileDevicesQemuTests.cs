using System.Text.Json;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Profiles;

/// <summary>The drive, NIC and display arguments a profile writes really start QEMU, and QEMU reports them by our ids.</summary>
public sealed class ProfileDevicesQemuTests
{
    [Fact(Timeout = 120_000)]
    public async Task Qemu_starts_with_every_drive_interface_the_nic_and_the_display_and_reports_them_by_our_ids()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var dir = new ScratchDirectory("devices, ü");
        string Image(string name)
        {
            string path = Path.Combine(dir.Path, name);
            using FileStream file = File.Create(path);
            file.SetLength(1024 * 1024);
            return path;
        }

        // No kernel: the firmware finds nothing to boot and waits, which is all QEMU needs to show its devices.
        var profile = new QemuProfile("devices")
        {
            Machine = "pc",
            Accel = QemuAccelerator.Tcg,
            Memory = "64M",
            Drives =
            [
                new QemuDrive(Image("virtio,1.raw")) { Format = "raw", ReadOnly = true },
                new QemuDrive(Image("nvme.raw")) { Format = "raw", Interface = "nvme", Id = "data" },
                new QemuDrive(Image("ide.raw")) { Format = "raw", Interface = "ide" },
                new QemuDrive(Image("scsi.raw")) { Format = "raw", Interface = "scsi", Snapshot = true },
                new QemuDrive(Image("none.raw")) { Format = "raw", Interface = "none" },
            ],
            Network = new QemuProfileNetwork(),
            Display = QemuDisplay.Vga,
        };
        var leaks = new LeakCheck();
        await using QemuMachine machine = QemuProfileMachine.Create(profile);
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        JsonElement[] blocks = [.. (await machine.CommandAsync("query-block", cancellationToken: ct)).EnumerateArray()];
        Assert.Equal(["disk0", "data", "disk2", "disk3", "disk4"], blocks.Select(b => b.GetProperty("device").GetString()));
        Assert.True(blocks[0].GetProperty("inserted").GetProperty("ro").GetBoolean());
        Assert.Equal(Path.Combine(dir.Path, "virtio,1.raw"), blocks[0].GetProperty("inserted").GetProperty("file").GetString());
        Assert.Equal("/machine/peripheral/disk0-dev/virtio-backend", blocks[0].GetProperty("qdev").GetString());
        Assert.Equal(["data-dev", "disk2-dev", "disk3-dev"], blocks[1..4].Select(b => b.GetProperty("qdev").GetString()));
        Assert.Equal(1, blocks[3].GetProperty("inserted").GetProperty("backing_file_depth").GetInt32()); // snapshot=on: a temporary overlay
        Assert.False(blocks[4].TryGetProperty("qdev", out _));
        Assert.Equal("nvme", (await machine.CommandAsync("qom-get", new { path = "/machine/peripheral/data-dev", property = "type" }, cancellationToken: ct)).GetString());
        Assert.Equal("scsi-hd", (await machine.CommandAsync("qom-get", new { path = "/machine/peripheral/disk3-dev", property = "type" }, cancellationToken: ct)).GetString());

        string network = (await machine.CommandAsync("human-monitor-command", new { command_line = "info network" }, cancellationToken: ct)).GetString()!;
        Assert.Contains("net0: index=0,type=user", network, StringComparison.Ordinal);
        Assert.Contains("restrict=on", network, StringComparison.Ordinal);
        Assert.Contains("model=virtio-net-pci", network, StringComparison.Ordinal);

        Assert.Equal("none", (await machine.CommandAsync("query-display-options", cancellationToken: ct)).GetProperty("type").GetString());
        Assert.Equal("VGA", (await machine.CommandAsync("qom-get", new { path = "/machine/peripheral/video0", property = "type" }, cancellationToken: ct)).GetString());

        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
    }
}
