using QemuTestKit.Internal;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Guest;

/// <summary>The built-in tiny profiles: one per architecture, <c>tiny</c> for the host's, and where each finds its guest.</summary>
public sealed class TinyProfilesTests : IDisposable
{
    private readonly ScratchDirectory _dir = new("qtk-tiny-profiles");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_tiny_profile_is_built_in_and_tiny_is_the_hosts_architecture()
    {
        Assert.Equal(["none", "tiny", "tiny-x86_64", "tiny-aarch64", "tiny-uefi", "tiny-uefi-x86_64", "tiny-uefi-aarch64", "tiny-agent", "tiny-agent-x86_64", "tiny-agent-aarch64"], BuiltInProfiles.Names);

        QemuProfile tiny = BuiltInProfiles.TryCreate(BuiltInProfiles.Tiny, AppContext.BaseDirectory)!;
        QemuProfile host = BuiltInProfiles.TryCreate("tiny-" + HostArchitecture.Current, AppContext.BaseDirectory)!;

        Assert.Equal(HostArchitecture.Current, tiny.Arch);
        Assert.Equal("tiny", tiny.Name);
        // The same guest, booted the same way: what QEMU is asked for is identical.
        Assert.Equal(host.Machine, tiny.Machine);
        Assert.Equal(QemuProfileArguments.Build(QemuLaunchPlan.Resolve(host)), QemuProfileArguments.Build(QemuLaunchPlan.Resolve(tiny)));
    }

    [Fact]
    public void Tiny_aarch64_boots_its_own_kernel_on_virt_with_the_PL011_console()
    {
        QemuProfile arm = BuiltInProfiles.TryCreate(BuiltInProfiles.TinyAarch64, AppContext.BaseDirectory)!;
        QemuProfile x86 = BuiltInProfiles.TryCreate(BuiltInProfiles.TinyX86_64, AppContext.BaseDirectory)!;

        Assert.Equal(("aarch64", "virt"), (arm.Arch, arm.Machine));
        Assert.Equal(("x86_64", "pc"), (x86.Arch, x86.Machine));
        Assert.Equal(Path.Combine("aarch64", "vmlinuz"), Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(arm.Kernel)!)!, arm.Kernel!));
        Assert.Equal(Path.Combine("x86_64", "initramfs.cpio.gz"), Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(x86.Initrd)!)!, x86.Initrd!));
        Assert.StartsWith("console=ttyAMA0 ", arm.Append, StringComparison.Ordinal);
        Assert.Equal(["-cpu", BuiltInProfiles.Aarch64Cpu(HostArchitecture.Current)], arm.Args);
        // The same guest contract on both.
        Assert.Equal((x86.ReadyPattern, x86.Prompt, x86.FailurePatterns.Single()), (arm.ReadyPattern, arm.Prompt, arm.FailurePatterns.Single()));
        Assert.Equal(x86.Console, arm.Console);
    }

    [Fact]
    public void The_aarch64_cpu_uses_the_fast_pointer_authentication_only_where_KVM_cannot_run_it()
    {
        Assert.Equal("max,pauth-impdef=on", BuiltInProfiles.Aarch64Cpu("x86_64"));
        Assert.Equal("max", BuiltInProfiles.Aarch64Cpu("aarch64"));
    }

    [Fact]
    public void Each_architecture_is_found_in_its_own_folder_or_in_a_guest_folder_whose_guest_json_names_it()
    {
        string deep = Path.Combine(_dir.Path, "tests", "bin");
        Directory.CreateDirectory(deep);
        string output = Path.Combine(_dir.Path, "build", "guest", "out");
        WriteGuest(Path.Combine(output, "aarch64"), """{ "arch": "aarch64" }""");

        Assert.Equal(Path.Combine(output, "aarch64"), BuiltInProfiles.FindGuestDirectory(deep, "aarch64", null));
        QemuProfileException missing = Assert.Throws<QemuProfileException>(() => BuiltInProfiles.FindGuestDirectory(deep, "x86_64", null));
        Assert.Equal("tiny-x86_64", missing.Profile);
        Assert.Contains("'build.sh x86_64' builds only this one", missing.Message, StringComparison.Ordinal);

        // QTK_GUEST_DIR may name the build's output folder or one guest; a guest.json without "arch" is x86_64.
        string single = Path.Combine(_dir.Path, "single");
        WriteGuest(single, "{}");
        Assert.Equal(Path.Combine(output, "aarch64"), BuiltInProfiles.FindGuestDirectory("/", "aarch64", output));
        Assert.Equal(single, BuiltInProfiles.FindGuestDirectory("/", "x86_64", single));
        QemuProfileException wrongArch = Assert.Throws<QemuProfileException>(() => BuiltInProfiles.FindGuestDirectory("/", "aarch64", single));
        Assert.Contains("QTK_GUEST_DIR", wrongArch.Message, StringComparison.Ordinal);
        Assert.Contains("no aarch64 guest", wrongArch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void There_is_no_tiny_guest_for_other_architectures()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BuiltInProfiles.CreateTiny("/g", "riscv64", "tiny-riscv64"));
    }

    private static void WriteGuest(string folder, string json)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "guest.json"), json);
    }
}
