using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.WarmStart;

namespace QemuTestKit.Tests.Qga;

/// <summary>The profile option <c>guestAgent</c>: read from JSON, decided in the plan, written by the machine, keyed by warm start. No VM boots.</summary>
public sealed class AgentProfileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qtk-agent-profiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Json_guestAgent_true_turns_the_agent_on_and_it_is_off_by_default()
    {
        File.WriteAllText(Path.Combine(_dir, "qemu-profiles.json"), """
            { "profiles": { "with": { "machine": "q35", "guestAgent": true }, "without": { "machine": "q35" } } }
            """);
        QemuProfiles profiles = QemuProfiles.LoadUncached(_dir);

        Assert.True(profiles.Get("with").GuestAgent);
        Assert.False(profiles.Get("without").GuestAgent);
    }

    [Fact]
    public void A_guestAgent_that_is_not_a_boolean_is_an_error_naming_the_field()
    {
        File.WriteAllText(Path.Combine(_dir, "qemu-profiles.json"), """{ "profiles": { "bad": { "guestAgent": "yes" } } }""");

        var ex = Assert.ThrowsAny<Exception>(() => QemuProfiles.LoadUncached(_dir).Get("bad"));

        Assert.Contains("guestAgent", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_tiny_agent_profiles_are_the_tiny_guest_with_the_agent_and_tiny_has_none()
    {
        foreach ((string agent, string plain) in new[] { (BuiltInProfiles.TinyAgentX86_64, BuiltInProfiles.TinyX86_64), (BuiltInProfiles.TinyAgentAarch64, BuiltInProfiles.TinyAarch64), (BuiltInProfiles.TinyAgent, BuiltInProfiles.Tiny) })
        {
            QemuProfile with = BuiltInProfiles.TryCreate(agent, AppContext.BaseDirectory)!;
            QemuProfile without = BuiltInProfiles.TryCreate(plain, AppContext.BaseDirectory)!;

            Assert.True(with.GuestAgent, agent);
            Assert.False(without.GuestAgent, plain);
            Assert.Equal((without.Arch, without.Machine, without.Kernel, without.Append), (with.Arch, with.Machine, with.Kernel, with.Append));
            // The same guest folder; only the agent's profiles pay for decompressing qemu-ga and its libraries.
            Assert.Equal(Path.Combine(Path.GetDirectoryName(without.Initrd)!, BuiltInProfiles.TinyAgentInitrd), with.Initrd);
            Assert.Equal(without.Args, with.Args);
        }
    }

    [Fact]
    public void The_tiny_agent_profiles_are_found_by_name_like_every_built_in_profile()
    {
        QemuProfiles profiles = QemuProfiles.LoadUncached(AppContext.BaseDirectory);   // where the repository's guests are found

        Assert.Contains(BuiltInProfiles.TinyAgent, profiles.Names);
        Assert.True(profiles.Get(BuiltInProfiles.TinyAgentX86_64).GuestAgent);
        Assert.Equal("aarch64", profiles.Get(BuiltInProfiles.TinyAgentAarch64).Arch);
    }

    [Theory]
    [InlineData("pc", "virtio-serial-pci")]
    [InlineData("q35", "virtio-serial-pci")]
    [InlineData("virt", "virtio-serial-pci")]
    [InlineData("microvm", "virtio-serial-device")]
    public void The_plan_picks_the_virtio_serial_controller_by_machine_and_none_without_the_agent(string machine, string expected)
    {
        QemuProfile profile = new QemuProfile("p") { Machine = machine };

        Assert.Equal(expected, WarmStartKeyTests.Plan(profile with { GuestAgent = true }).GuestAgentSerialDevice);
        Assert.Null(WarmStartKeyTests.Plan(profile).GuestAgentSerialDevice);
    }

    [Fact]
    public void The_machine_writes_the_port_on_its_own_controller_and_a_socket_chardev()
    {
        var agent = new MachineCommandLine.GuestAgentChardev("/tmp/a,b/vm-qga.sock", "127.0.0.1", 0, "virtio-serial-pci");

        List<string> args = MachineCommandLine.BaseArgs(null, connectBack: true, "pc", 0, null, agent);

        Assert.Equal(
            ["-chardev", "socket,id=qga0,path=/tmp/a,,b/vm-qga.sock,server=on,wait=off",
             "-device", "virtio-serial-pci,id=qga-serial0",
             "-device", "virtserialport,bus=qga-serial0.0,chardev=qga0,name=org.qemu.guest_agent.0"],
            args[^6..]);
        Assert.DoesNotContain("qga0", string.Join(' ', MachineCommandLine.BaseArgs(null, connectBack: true, "pc", 0, null)), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_warm_start_key_includes_the_agent_because_it_changes_the_device_set()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile tiny = BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

        string without = (await WarmStartKey.ComputeAsync(WarmStartKeyTests.Plan(tiny with { GuestAgent = false }), ct)).Hash;
        string with = (await WarmStartKey.ComputeAsync(WarmStartKeyTests.Plan(tiny with { GuestAgent = true }), ct)).Hash;

        Assert.NotEqual(without, with);
        Assert.DoesNotContain(WarmStartKey.DeviceArguments(WarmStartKeyTests.Plan(tiny)), a => a.StartsWith("guestAgent", StringComparison.Ordinal));
    }
}
