namespace QemuTestKit.Tests.Profiles;

/// <summary>Drives, the NIC and the display: what a profile file says and what QEMU is asked for.</summary>
public sealed class ProfileDevicesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qtk-devices-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyList<string> Arguments(QemuProfile profile) => QemuProfileArgumentsTests.Plan(profile).Arguments;

    private QemuProfile Read(string profileJson)
    {
        File.WriteAllText(Path.Combine(_dir, "qemu-profiles.json"), $$"""{ "profiles": { "p": {{profileJson}} } }""");
        return QemuProfiles.LoadUncached(_dir).Get("p");
    }

    [Fact]
    public void Every_interface_gets_a_named_backend_and_its_device_and_scsi_shares_one_controller()
    {
        var profile = new QemuProfile("d")
        {
            Machine = "pc",
            Drives =
            [
                new QemuDrive("/i/v.raw") { Format = "raw" },
                new QemuDrive("/i/n.raw") { Interface = "nvme", Id = "data" },
                new QemuDrive("/i/h.raw") { Interface = "ide", Cache = "unsafe" },
                new QemuDrive("/i/s1.raw") { Interface = "scsi" },
                new QemuDrive("/i/s2.raw") { Interface = "scsi", ReadOnly = true },
                new QemuDrive("/i/x.raw") { Interface = "none" },
            ],
        };

        Assert.Equal(
            ["-nodefaults", "-accel", "tcg",
             "-drive", "if=none,id=disk0,file=/i/v.raw,format=raw", "-device", "virtio-blk-pci,drive=disk0,id=disk0-dev",
             "-drive", "if=none,id=data,file=/i/n.raw", "-device", "nvme,drive=data,serial=data,id=data-dev",
             "-drive", "if=none,id=disk2,file=/i/h.raw,cache=unsafe", "-device", "ide-hd,drive=disk2,id=disk2-dev",
             "-device", "virtio-scsi-pci,id=scsi0",
             "-drive", "if=none,id=disk3,file=/i/s1.raw", "-device", "scsi-hd,drive=disk3,bus=scsi0.0,id=disk3-dev",
             "-drive", "if=none,id=disk4,file=/i/s2.raw,readonly=on", "-device", "scsi-hd,drive=disk4,bus=scsi0.0,id=disk4-dev",
             "-drive", "if=none,id=disk5,file=/i/x.raw"],
            Arguments(profile));
    }

    [Fact]
    public void The_network_is_user_mode_restricted_with_netdev_net0_and_the_display_adds_only_its_device()
    {
        var profile = new QemuProfile("n") { Machine = "pc", Network = new QemuProfileNetwork(), Display = QemuDisplay.Vga };

        Assert.Equal(
            ["-nodefaults", "-accel", "tcg",
             "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0,id=net0-dev",
             "-device", "VGA,id=video0"],
            Arguments(profile));
        Assert.Contains("virtio-gpu-pci,id=video0", Arguments(profile with { Display = QemuDisplay.VirtioGpu }));
        Assert.DoesNotContain("-netdev", Arguments(profile with { Network = null }));
        Assert.Equal(3, Arguments(new QemuProfile("plain") { Machine = "pc" }).Count);
    }

    [Fact]
    public void Two_drives_with_one_id_are_refused_before_qemu_runs()
    {
        var profile = new QemuProfile("d") { Drives = [new QemuDrive("/a") { Id = "disk1" }, new QemuDrive("/b")] };

        ArgumentException ex = Assert.Throws<ArgumentException>(() => Arguments(profile));
        Assert.Contains("'disk1'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_profile_file_reads_drive_options_a_plain_path_drive_the_network_and_the_display()
    {
        QemuProfile p = Read("""
            {
              "machine": "q35",
              "drives": [
                "old/style.qcow2",
                { "path": "data.raw", "interface": "nvme", "id": "data", "format": "raw", "readOnly": true, "cache": "none" }
              ],
              "network": { "model": "e1000" },
              "display": "virtio-gpu"
            }
            """);

        Assert.Equal(Path.Combine(_dir, "old", "style.qcow2"), p.Drives[0].Path);
        Assert.Null(p.Drives[0].Interface);
        Assert.Equal(
            new QemuDrive(Path.Combine(_dir, "data.raw")) { Interface = "nvme", Id = "data", Format = "raw", ReadOnly = true, Cache = "none" },
            p.Drives[1]);
        Assert.Equal(new QemuProfileNetwork { Model = "e1000" }, p.Network);
        Assert.Equal(QemuDisplay.VirtioGpu, p.Display);
        Assert.Equal(new QemuProfileNetwork(), Read("""{ "network": "user" }""").Network);
        Assert.Null(Read("""{ "network": "none" }""").Network);
        Assert.Equal(QemuDisplay.None, Read("{}").Display);
    }

    [Theory]
    [InlineData("""{ "drives": [ { "path": "a", "interface": "floppy" } ] }""", "drives[0].interface", "\"floppy\"")]
    [InlineData("""{ "drives": [ { "path": "a", "id": "0bad" } ] }""", "drives[0].id", "'0bad'")]
    [InlineData("""{ "drives": [ { "path": "a", "id": "disk1" }, "b" ] }""", "drives[1].id", "'disk1'")]
    [InlineData("""{ "drives": [ { "path": "a", "cache": "fast" } ] }""", "drives[0].cache", "\"fast\"")]
    [InlineData("""{ "drives": [ { "path": "a", "bus": "ide.0" } ] }""", "drives[0].bus", "known fields: image, path, id")]
    [InlineData("""{ "network": "tap" }""", "network", "\"tap\"")]
    [InlineData("""{ "network": { "restrict": false } }""", "network.restrict", "is not a network field")]
    [InlineData("""{ "network": { "mode": "tap" } }""", "network.mode", "\"tap\"")]
    [InlineData("""{ "display": "cirrus" }""", "display", "\"virtio-gpu\"")]
    public void Device_mistakes_name_the_field(string profileJson, string field, string expected)
    {
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => Read(profileJson));

        Assert.Equal(field, ex.Field);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
