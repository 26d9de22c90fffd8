using QemuTestKit.Qga;
using QemuTestKit.Tests.Guest;
using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Qga;

/// <summary>
/// The guest agent across a VM's life on real QEMU: <c>guest-shutdown</c> powers the VM off cleanly, a warm-restored VM's
/// agent answers, and a VM without an agent fails with a clear error instead of hanging.
/// </summary>
public sealed class AgentLifecycleTests : IDisposable
{
    private readonly ScratchDirectory _cache = new("qtk-warm-agent");
    private readonly BootedMachines _machines = new();

    [Theory(Timeout = 500_000)]
    [InlineData(BuiltInProfiles.TinyAgentX86_64)]
    [InlineData(BuiltInProfiles.TinyAgentAarch64)]
    public async Task Guest_shutdown_powers_the_VM_off_and_the_machine_reports_a_clean_exit(string name)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuBootResult boot = await QemuBoot.StartAsync(AgentGuest.WithAgent(name), cancellationToken: ct);
        QemuMachine machine = boot.Machine;
        _machines.Record(machine);

        await machine.GuestAgent.ShutdownAsync(QgaShutdownMode.PowerDown, ct);
        await machine.WaitAsync(TimeSpan.FromMinutes(2), ct);   // throws AbnormalShutdownException if QEMU had to be killed

        Assert.Null(machine.AbnormalShutdown);
        Assert.Equal(0, machine.ExitCode);
        await machine.DisposeAsync();
        await _machines.Leaks.AssertNothingLeftAsync();
    }

    [Theory(Timeout = 600_000)]
    [InlineData(BuiltInProfiles.TinyAgentX86_64, "x86_64")]
    [InlineData(BuiltInProfiles.TinyAgentAarch64, "aarch64")]
    public async Task A_warm_restored_VM_s_agent_answers(string name, string arch)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = AgentGuest.WithAgent(name) with { WarmStart = true };
        var options = new WarmStartOptions { CacheDirectory = _cache.Path };

        WarmStartResult saved = await _machines.WarmLaunchAsync(profile, options, ct);
        WarmStartResult restored = await _machines.WarmLaunchAsync(profile, options, ct);

        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.Null(restored.Warning);
        // Restored, not booted: the new console never saw the ready marker, and the agent still answers.
        Assert.DoesNotContain(BuiltInProfiles.TinyReadyMarker, restored.Machine.Console.Text, StringComparison.Ordinal);
        QgaExecResult uname = await restored.Machine.GuestAgent.ExecAsync("/bin/uname", ["-m"], cancellationToken: ct);
        Assert.Equal(arch + "\n", uname.StandardOutputText);
        await restored.Machine.GuestAgent.PingAsync(ct);

        await _machines.ShutdownAllAsync(ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_profile_without_the_agent_gets_an_error_that_names_the_option()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyX86_64, p => p with { GuestAgent = false });
        await using QemuMachine machine = QemuProfileMachine.Create(profile);

        Assert.False(machine.HasGuestAgent);
        var property = Assert.Throws<QemuMachineException>(() => machine.GuestAgent);
        var connect = await Assert.ThrowsAsync<QemuMachineException>(() => machine.ConnectGuestAgentAsync(cancellationToken: ct));

        Assert.Contains("\"guestAgent\": true", property.Message, StringComparison.Ordinal);
        Assert.Equal(property.Message, connect.Message);
        Assert.DoesNotContain(MachineCommandLine.GuestAgentPortName, string.Join(' ', QemuLaunchPlan.Resolve(profile).Arguments), StringComparison.Ordinal);
    }

    [Fact(Timeout = 400_000)]
    public async Task An_agent_that_does_not_answer_ends_in_a_bounded_timeout_naming_the_socket_and_the_console()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuBootResult boot = await QemuBoot.StartAsync(AgentGuest.WithAgent(BuiltInProfiles.TinyAgentX86_64), cancellationToken: ct);
        QemuMachine machine = boot.Machine;
        _machines.Record(machine);
        string socket = machine.LaunchSpec!.GuestAgentPath!;
        Assert.StartsWith(machine.SockDir, socket, StringComparison.Ordinal);

        // The port stays, the agent behind it is gone: exactly a guest that never runs qemu-ga.
        await machine.Console.RunAsync("killall qemu-ga; while pidof qemu-ga; do sleep 0.1; done; echo agent-gone", cancellationToken: ct);
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => machine.ConnectGuestAgentAsync(TimeSpan.FromSeconds(5), ct));

        Assert.Contains(socket, ex.Message, StringComparison.Ordinal);
        Assert.Contains("qemu-ga", ex.Message, StringComparison.Ordinal);
        Assert.Contains("console (last lines):", ex.Message, StringComparison.Ordinal);
        Assert.Contains("agent-gone", ex.Message, StringComparison.Ordinal);
        await _machines.ShutdownAllAsync(ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_VM_without_the_port_runs_no_agent_in_the_tiny_guest()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile plain = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyX86_64, p => p with { WarmStart = false });
        QemuBootResult boot = await QemuBoot.StartAsync(plain, cancellationToken: ct);
        QemuMachine machine = boot.Machine;
        _machines.Record(machine);

        // /init starts qemu-ga only for the port (in the background, so nothing waits for it either).
        ConsoleExecResult agent = await machine.Console.ExecAsync("pidof qemu-ga", cancellationToken: ct);
        ConsoleExecResult link = await machine.Console.ExecAsync("test -e /dev/virtio-ports/org.qemu.guest_agent.0", cancellationToken: ct);

        Assert.NotEqual(0, agent.ExitCode);
        Assert.NotEqual(0, link.ExitCode);
        Assert.False(machine.HasGuestAgent);
        await _machines.ShutdownAllAsync(ct);
    }

    public void Dispose()
    {
        _machines.Dispose();
        _cache.Dispose();
    }
}
