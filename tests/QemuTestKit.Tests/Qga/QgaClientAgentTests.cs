using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using QemuTestKit.Qga;

namespace QemuTestKit.Tests.Qga;

/// <summary>The client against Debian's real qemu-ga, run on the host on a unix socket (see <see cref="HostGuestAgent"/>).</summary>
public sealed class QgaClientAgentTests
{
    [Fact(Timeout = 120_000)]
    public async Task Exec_returns_stdout_stderr_and_a_non_zero_exit_code()
    {
        await using HostGuestAgent agent = HostGuestAgent.Start();
        await using QgaClient client = await agent.ConnectAsync();

        QgaExecResult result = await client.ExecAsync("/bin/sh", ["-c", "echo out; echo err >&2; exit 7"], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(7, result.ExitCode);
        Assert.Null(result.Signal);
        Assert.Equal("out\n", result.StandardOutputText);
        Assert.Equal("err\n", result.StandardErrorText);

        byte[] input = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        QgaExecResult echoed = await client.ExecAsync(
            "/bin/sh", ["-c", "cat; printf %s \"$QTK_VALUE\" >&2"], input, new Dictionary<string, string> { ["QTK_VALUE"] = "a b=c" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, echoed.ExitCode);
        Assert.Equal(input, echoed.StandardOutput);
        Assert.Equal("a b=c", echoed.StandardErrorText);

        QgaExecResult killed = await client.ExecAsync("/bin/sh", ["-c", "kill -9 $$"], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(9, killed.Signal);
        Assert.Equal(137, killed.ExitCode);

        var missing = await Assert.ThrowsAsync<QgaCommandException>(() => client.ExecAsync("/nonexistent/program", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("guest-exec", missing.Command);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_16_MiB_file_written_and_read_back_has_the_same_SHA256()
    {
        await using HostGuestAgent agent = HostGuestAgent.Start();
        await using QgaClient client = await agent.ConnectAsync();
        byte[] content = new byte[16 * 1024 * 1024];
        new Random(15).NextBytes(content);
        string path = Path.Combine(agent.Folder, "blob.bin");

        await client.WriteFileAsync(path, content, TestContext.Current.CancellationToken);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken)));

        byte[] back = await client.ReadFileAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(content)), Convert.ToHexString(SHA256.HashData(back)));

        // A file the agent cannot open is the agent's error, with what it said.
        var ex = await Assert.ThrowsAsync<QgaCommandException>(() => client.ReadFileAsync(Path.Combine(agent.Folder, "missing"), TestContext.Current.CancellationToken));
        Assert.Equal("guest-file-open", ex.Command);
        Assert.Contains("missing", ex.Description, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Os_info_names_Linux_and_info_lists_the_commands()
    {
        await using HostGuestAgent agent = HostGuestAgent.Start();
        await using QgaClient client = await agent.ConnectAsync();

        await client.PingAsync(TestContext.Current.CancellationToken);
        QgaOsInfo os = await client.GetOsInfoAsync(TestContext.Current.CancellationToken);
        Assert.Contains("Linux", os.Name ?? os.PrettyName ?? "", StringComparison.Ordinal);
        Assert.Equal((await File.ReadAllTextAsync("/proc/sys/kernel/osrelease", TestContext.Current.CancellationToken)).Trim(), os.KernelRelease);

        QgaInfo info = await client.InfoAsync(TestContext.Current.CancellationToken);
        Assert.Matches(@"^\d+\.\d+", info.Version);
        Assert.Contains("guest-exec", info.EnabledCommands);
        Assert.DoesNotContain("guest-shutdown", info.EnabledCommands);

        var blocked = await Assert.ThrowsAsync<QgaCommandException>(() => client.ExecuteAsync("guest-fstrim", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("disabled", blocked.Description, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 120_000)]
    public async Task Connecting_over_a_channel_holding_a_torn_message_synchronises()
    {
        await using HostGuestAgent agent = HostGuestAgent.Start();
        await (await agent.ConnectAsync()).DisposeAsync();

        // What a client that died half-way through a command leaves on a channel that stays open (virtio-serial does):
        // the agent's parser is inside a JSON string. The 0xFF flush resets it at once (without it, the agent's parser
        // recovers after an error reply and a re-sent sync gets through; the fake-agent tests check the 0xFF itself).
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(agent.SocketPath), TestContext.Current.CancellationToken);
        var stream = new NetworkStream(socket, ownsSocket: true);
        await stream.WriteAsync(Encoding.UTF8.GetBytes("""{"execute": "guest-exec", "arguments": {"path": "/bin/tr"""), TestContext.Current.CancellationToken);

        await using QgaClient client = await QgaClient.ConnectAsync(stream, new QgaClientOptions { CommandTimeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken);
        await client.PingAsync(TestContext.Current.CancellationToken);
        await client.ResyncAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("out\n", (await client.ExecAsync("/bin/echo", ["out"], cancellationToken: TestContext.Current.CancellationToken)).StandardOutputText);
    }
}
