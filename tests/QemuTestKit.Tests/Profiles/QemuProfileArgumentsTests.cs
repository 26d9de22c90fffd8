using QemuTestKit.Internal;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Profiles;

/// <summary>What QEMU is asked to do for a profile.</summary>
public sealed class QemuProfileArgumentsTests
{
    /// <summary>The plan on a host whose QEMU is /usr/bin/qemu-system-x86_64 and whose KVM is as given.</summary>
    internal static QemuLaunchPlan Plan(QemuProfile profile, bool kvm = false) =>
        QemuLaunchPlan.Resolve(profile, new QemuHost(_ => "/usr/bin/qemu-system-x86_64", (_, _) => kvm, () => null));

    [Fact]
    public void A_kernel_boot_gets_kernel_initrd_append_and_no_reboot()
    {
        QemuProfile tiny = BuiltInProfiles.CreateTiny("/g");

        IReadOnlyList<string> args = Plan(tiny).Arguments;

        Assert.Equal(
            ["-nodefaults", "-accel", "tcg", "-m", "256M", "-kernel", "/g/vmlinuz", "-initrd", "/g/initramfs.cpio.gz",
             "-append", "console=ttyS0 quiet panic=-1 no_timer_check", "-no-reboot",
             "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0,id=net0-dev"],
            args);
    }

    [Fact]
    public void Auto_uses_kvm_when_it_is_usable_and_an_explicit_choice_wins()
    {
        var profile = new QemuProfile("p");

        Assert.Equal(QemuAccelerator.Kvm, Plan(profile, kvm: true).Accelerator);
        Assert.Equal(QemuAccelerator.Tcg, Plan(profile, kvm: false).Accelerator);
        Assert.Equal(QemuAccelerator.Tcg, Plan(profile with { Accel = QemuAccelerator.Tcg }, kvm: true).Accelerator);
        Assert.Equal(QemuAccelerator.Kvm, Plan(profile with { Accel = QemuAccelerator.Kvm }, kvm: false).Accelerator);
    }

    [Fact]
    public void Drives_escape_commas_and_carry_their_options()
    {
        var profile = new QemuProfile("d")
        {
            Smp = 2,
            Drives = [new QemuDrive("/img/a,b.qcow2") { Format = "qcow2", Interface = "virtio", ReadOnly = true, Snapshot = true }],
            Args = ["-device", "virtio-rng-pci"],
        };

        IReadOnlyList<string> args = Plan(profile).Arguments;

        Assert.Equal(
            ["-nodefaults", "-accel", "tcg", "-smp", "2",
             "-drive", "if=none,id=disk0,file=/img/a,,b.qcow2,format=qcow2,readonly=on,snapshot=on",
             "-device", "virtio-blk-pci,drive=disk0,id=disk0-dev", "-device", "virtio-rng-pci"],
            args);
    }

    [Fact]
    public void Machine_none_keeps_qemu_defaults_and_has_no_reboot_flag()
    {
        IReadOnlyList<string> args = Plan(new QemuProfile("none") { Machine = "none" }).Arguments;

        Assert.Equal(["-accel", "tcg"], args);
    }

    [Fact]
    public void The_manifest_binary_wins_and_a_missing_one_says_what_to_set()
    {
        string qemu = TestPrerequisites.QemuBinary; // the binary is now checked to be QEMU, so it must be one
        Assert.Equal(qemu, QemuBinaryLocator.Resolve(new QemuProfile("p") { QemuBinary = qemu }));

        FileNotFoundException ex = Assert.Throws<FileNotFoundException>(
            () => QemuBinaryLocator.Resolve(new QemuProfile("p") { QemuBinary = "/nope/qemu-system-x86_64" }));
        Assert.Contains("<QemuBinary>", ex.Message, StringComparison.Ordinal);
        Assert.Equal("qemu-system-arm", HostArchitecture.DebianPackage("aarch64"));
    }
}
