using System.Security.Cryptography;
using System.Text.Json;
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
    public void A_missing_guest_names_the_profile_that_was_asked_for()
    {
        // Found through TryCreate, as a test's [QemuMachine("tiny-agent-x86_64")] finds it: no guest anywhere above.
        string deep = Path.Combine(_dir.Path, "nowhere", "bin");
        Directory.CreateDirectory(deep);

        foreach (string name in BuiltInProfiles.Names.Where(n => n != BuiltInProfiles.None))
        {
            string arch = name.EndsWith("aarch64", StringComparison.Ordinal) ? "aarch64" : name.EndsWith("x86_64", StringComparison.Ordinal) ? "x86_64" : HostArchitecture.Current;
            QemuProfileException missing = Assert.Throws<QemuProfileException>(() => BuiltInProfiles.TryCreate(name, deep));

            Assert.Equal(name, missing.Profile);
            Assert.StartsWith($"Profile '{name}': the tiny test guest for {arch} was not found", missing.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Tiny_boots_the_base_initramfs_and_tiny_agent_the_one_with_the_agent_which_is_the_base_with_the_agent_appended()
    {
        foreach (string arch in BuiltInProfiles.TinyArchitectures)
        {
            QemuProfile tiny = BuiltInProfiles.TryCreate("tiny-" + arch, AppContext.BaseDirectory)!;
            QemuProfile agent = BuiltInProfiles.TryCreate("tiny-agent-" + arch, AppContext.BaseDirectory)!;
            string folder = Path.GetDirectoryName(tiny.Initrd)!;

            Assert.Equal(Path.Combine(folder, BuiltInProfiles.TinyInitrd), tiny.Initrd);
            Assert.Equal(Path.Combine(folder, BuiltInProfiles.TinyAgentInitrd), agent.Initrd);

            // guest.json records both files with their hashes (build/guest/build.sh), and the agent's file starts with
            // the base file's bytes: the kernel unpacks the appended archive (qemu-ga and its libraries) after it.
            using JsonDocument guest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "guest.json")));
            JsonElement root = guest.RootElement;
            byte[] base_ = File.ReadAllBytes(tiny.Initrd!);
            byte[] withAgent = File.ReadAllBytes(agent.Initrd!);
            Assert.Equal(BuiltInProfiles.TinyInitrd, root.GetProperty("initrd").GetString());
            Assert.Equal(BuiltInProfiles.TinyAgentInitrd, root.GetProperty("agentInitrd").GetString());
            Assert.Equal(root.GetProperty("initrdSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(base_)));
            Assert.Equal(root.GetProperty("agentInitrdSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(withAgent)));
            Assert.True(withAgent.Length > base_.Length, $"{agent.Initrd} ({withAgent.Length} bytes) should be longer than {tiny.Initrd} ({base_.Length} bytes)");
            Assert.Equal(base_, withAgent[..base_.Length]);
        }
    }

    [Fact]
    public void A_tiny_agent_profile_whose_guest_has_no_agent_initramfs_says_to_rebuild_it_naming_the_profile()
    {
        // A guest built before the agent had its own initramfs: booting its base initramfs would wait for an agent that is not there.
        string guest = Path.Combine(_dir.Path, "old", "x86_64");
        WriteGuest(guest, """{ "arch": "x86_64" }""");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => BuiltInProfiles.CreateTinyAgent(guest, "x86_64", BuiltInProfiles.TinyAgentX86_64));

        Assert.Equal(BuiltInProfiles.TinyAgentX86_64, ex.Profile);
        Assert.Contains(Path.Combine(guest, BuiltInProfiles.TinyAgentInitrd), ex.Message, StringComparison.Ordinal);
        Assert.Contains("'bash build/guest/build.sh x86_64'", ex.Message, StringComparison.Ordinal);
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
