using QemuTestKit.Tests.Guest;

namespace QemuTestKit.Tests.Qga;

/// <summary>
/// <c>tiny</c> boots the initramfs without the guest agent: qemu-ga and its libraries more than double the initramfs,
/// and only the <c>tiny-agent</c> profiles should pay for decompressing them (see <see cref="AgentGuestTests"/> for
/// the other side).
/// </summary>
public sealed class TinyWithoutAgentTests
{
    [Fact(Timeout = 300_000)]
    public async Task The_tiny_guest_has_no_qemu_ga()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyX86_64);
        await using TinyGuestVm vm = await TinyGuestVm.BootAsync(profile, ct);

        ConsoleExecResult agent = await vm.Console.ExecAsync("test -e /sbin/qemu-ga", profile.BootTimeout, ct);
        ConsoleExecResult busybox = await vm.Console.ExecAsync("test -x /bin/busybox", profile.BootTimeout, ct);

        Assert.Equal(BuiltInProfiles.TinyInitrd, Path.GetFileName(profile.Initrd));
        Assert.NotEqual(0, agent.ExitCode);
        Assert.Equal(0, busybox.ExitCode);   // the same check finds what is there
        await vm.PowerOffAsync(ct);
    }
}
