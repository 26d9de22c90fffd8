using QemuTestKit.Sdk;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Launch;

/// <summary>
/// The container launcher on its own, below the machine: a container's exit, signals and output must look like a
/// local QEMU process's. Runs on the local engine (unix-socket transport) and on the loopback TCP engine.
/// </summary>
[Trait("Runner", "Container")]
public sealed class ContainerLauncherTests
{
    public static TheoryData<string> Transports => ["unix", "tcp"];

    private static QemuContainerOptions Options(string transport) =>
        transport == "tcp" ? DockerTestEnvironment.TcpOptions : DockerTestEnvironment.UnixSocketOptions;

    private static Uri? Endpoint(string transport) => transport == "tcp" ? DockerTestEnvironment.TcpEndpoint : null;

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Transports))]
    public async Task Guest_runs_in_the_container_and_its_output_is_the_log(string transport)
    {
        using var scratch = new LaunchScratch();
        var launcher = new ContainerQemuLauncher(Options(transport));

        await using (IQemuProcess process = await launcher.StartAsync(scratch.GuestSpec("console=ttyS0 quiet panic=-1 qtk.run=\"echo in-container-$((6*7))\""), TestContext.Current.CancellationToken))
        {
            Assert.Null(process.Pid);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);

            Assert.Equal(0, process.ExitCode);
            Assert.Null(process.Signal);
        }

        Assert.Contains("in-container-42", scratch.Log, StringComparison.Ordinal);
        Assert.Contains("QEMUTESTKIT-RUN-EXIT=0", scratch.Log, StringComparison.Ordinal);
        await DockerTestEnvironment.AssertNoContainersLeftAsync(Endpoint(transport), scratch.Name);
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Transports))]
    public async Task A_bad_argument_is_an_exit_status_with_qemus_message_in_the_log(string transport)
    {
        using var scratch = new LaunchScratch();
        var launcher = new ContainerQemuLauncher(Options(transport));

        await using (IQemuProcess process = await launcher.StartAsync(scratch.GuestSpec("console=ttyS0", "-no-such-option"), TestContext.Current.CancellationToken))
        {
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);

            Assert.Equal(1, process.ExitCode);
        }

        Assert.Contains("-no-such-option", scratch.Log, StringComparison.Ordinal);
        await DockerTestEnvironment.AssertNoContainersLeftAsync(Endpoint(transport), scratch.Name);
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Transports))]
    public async Task Kill_ends_qemu_with_SIGKILL_even_when_stopped(string transport)
    {
        using var scratch = new LaunchScratch();
        var launcher = new ContainerQemuLauncher(Options(transport));

        await using (IQemuProcess process = await launcher.StartAsync(scratch.GuestSpec(TestPrerequisites.Append), TestContext.Current.CancellationToken))
        {
            var container = Assert.IsType<ContainerQemuProcess>(process);
            await WaitForLogAsync(scratch, "QEMUTESTKIT-READY");
            await container.SendSignalAsync("STOP", TestContext.Current.CancellationToken);
            Assert.False(process.HasExited);

            await process.KillAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);

            Assert.Equal(9, process.Signal);
            Assert.Null(process.ExitCode);
        }

        await DockerTestEnvironment.AssertNoContainersLeftAsync(Endpoint(transport), scratch.Name);
    }

    [Fact(Timeout = 120_000)]
    public async Task Dispose_removes_a_running_container()
    {
        using var scratch = new LaunchScratch();
        var launcher = new ContainerQemuLauncher(DockerTestEnvironment.UnixSocketOptions);

        IQemuProcess process = await launcher.StartAsync(scratch.GuestSpec(TestPrerequisites.Append), TestContext.Current.CancellationToken);
        try
        {
            Assert.Single(await DockerTestEnvironment.ContainersOfThisSessionAsync(machine: scratch.Name));
            await process.DisposeAsync();

            Assert.True(process.HasExited);
            await DockerTestEnvironment.AssertNoContainersLeftAsync(machine: scratch.Name);
        }
        finally
        {
            await process.DisposeAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task The_streams_transport_rejects_a_guest_agent_on_TCP_and_says_to_use_a_unix_socket()
    {
        using var scratch = new LaunchScratch();
        var launcher = new ContainerQemuLauncher(DockerTestEnvironment.StreamsOptions);

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(
            () => launcher.StartAsync(scratch.GuestSpec(TestPrerequisites.Append) with { GuestAgentPort = 4444 }, TestContext.Current.CancellationToken));

        Assert.Contains("never listens on TCP", ex.Message, StringComparison.Ordinal);
        Assert.Contains("guest agent", ex.Message, StringComparison.Ordinal);
        await DockerTestEnvironment.AssertNoContainersLeftAsync(machine: scratch.Name);
    }

    private static async Task WaitForLogAsync(LaunchScratch scratch, string text)
    {
        while (!scratch.Log.Contains(text, StringComparison.Ordinal))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
