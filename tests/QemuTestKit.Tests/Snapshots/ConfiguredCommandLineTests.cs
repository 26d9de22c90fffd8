using QemuTestKit.Tests.Profiles;

namespace QemuTestKit.Tests.Snapshots;

/// <summary>The command line a profile configures, rendered for a snapshot a user commits.</summary>
public sealed class ConfiguredCommandLineTests
{
    private static readonly QemuProfile Profile = new("p")
    {
        Machine = "q35",
        Kernel = "/home/ann/repo/bin/qemu-images/vmlinuz",
        Drives = [new QemuDrive("/home/ann/repo/bin/qemu-images/disk.qcow2"), new QemuDrive("/srv/data/seed.raw") { ReadOnly = true }],
    };

    [Fact]
    public void Image_folders_auto_accel_and_the_binary_are_placeholders_and_kvm_or_tcg_hosts_agree()
    {
        string onKvmHost = SnapshotText.CommandLine(QemuProfileArgumentsTests.Plan(Profile, kvm: true));
        string onTcgHost = SnapshotText.CommandLine(QemuProfileArgumentsTests.Plan(Profile, kvm: false));

        Assert.Equal(onKvmHost, onTcgHost);
        Assert.Equal(
            """
            {QemuBinary}
            -machine q35
            -nodefaults
            -accel {Accel}
            -kernel {Images}/vmlinuz
            -no-reboot
            -drive if=none,id=disk0,file={Images}/disk.qcow2
            -device virtio-blk-pci,drive=disk0,id=disk0-dev
            -drive if=none,id=disk1,file={Images_2}/seed.raw,readonly=on
            -device virtio-blk-pci,drive=disk1,id=disk1-dev
            """,
            onKvmHost);
    }

    [Fact]
    public void A_pinned_accelerator_stays_and_a_named_folder_wins_over_Images()
    {
        QemuLaunchPlan plan = QemuProfileArgumentsTests.Plan(Profile with { Accel = QemuAccelerator.Tcg });

        string text = SnapshotText.CommandLine(plan, new Dictionary<string, string> { ["/srv/data"] = "Seeds" });

        Assert.Contains("-accel tcg", text, StringComparison.Ordinal);
        Assert.Contains("file={Seeds}/seed.raw", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Warm_start_layers_in_place_of_the_drives_do_not_change_the_text()
    {
        QemuLaunchPlan plan = QemuProfileArgumentsTests.Plan(Profile);
        QemuLaunchPlan warm = plan with { Drives = [.. plan.Drives.Select((d, i) => d with { Path = $"/tmp/qemu-machine-k2/disk{i}.qcow2", Format = "qcow2" })] };

        Assert.Equal(SnapshotText.CommandLine(plan), SnapshotText.CommandLine(warm));
        Assert.DoesNotContain("disk0.qcow2", SnapshotText.CommandLine(warm), StringComparison.Ordinal);
    }
}
