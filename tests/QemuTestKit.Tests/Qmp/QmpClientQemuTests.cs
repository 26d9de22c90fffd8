using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using QemuTestKit.Qmp;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Qmp;

/// <summary>The client against a real <c>qemu-system-x86_64 -machine none</c>.</summary>
public sealed class QmpClientQemuTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 120_000)]
    public async Task Negotiates_and_queries_status_over_an_accepted_unix_socket()
    {
        await using QemuQmpProcess qemu = await QemuQmpProcess.StartAsync();
        QmpClient qmp = qemu.Client!;

        Assert.True(qmp.Greeting.Version.Major >= 7, qmp.Greeting.Version.ToString());
        Assert.Contains("oob", qmp.Greeting.Capabilities);
        JsonElement status = await qmp.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("running").GetBoolean());
        Assert.Contains("query-status", qmp.Transcript.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Stop_raises_STOP_and_cont_raises_RESUME()
    {
        await using QemuQmpProcess qemu = await QemuQmpProcess.StartAsync();
        QmpClient qmp = qemu.Client!;
        CancellationToken ct = TestContext.Current.CancellationToken;

        await qmp.ExecuteAsync("stop", cancellationToken: ct);
        QmpEvent stop = await qmp.WaitForEventAsync("STOP", timeout: Wait, cancellationToken: ct);
        Assert.InRange(stop.Timestamp, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Equal("paused", (await qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());

        await qmp.ExecuteAsync("cont", cancellationToken: ct);
        await qmp.WaitForEventAsync("RESUME", timeout: Wait, cancellationToken: ct);
        Assert.Equal("running", (await qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
        Assert.Empty(qmp.DequeueAllEvents());
    }

    [Fact(Timeout = 120_000)]
    public async Task An_unknown_command_throws_QmpCommandException_with_QEMUs_error()
    {
        await using QemuQmpProcess qemu = await QemuQmpProcess.StartAsync();
        CancellationToken ct = TestContext.Current.CancellationToken;

        var ex = await Assert.ThrowsAsync<QmpCommandException>(() => qemu.Client!.ExecuteAsync("no-such-command", cancellationToken: ct));
        Assert.Equal("CommandNotFound", ex.ErrorClass);
        Assert.Equal("no-such-command", ex.Command);
        Assert.Contains("no-such-command", ex.Description, StringComparison.Ordinal);

        var bad = await Assert.ThrowsAsync<QmpCommandException>(() => qemu.Client!.ExecuteAsync("getfd", new { fdname = "nothing-sent" }, ct));
        Assert.Equal("GenericError", bad.ErrorClass);
        Assert.Contains("SCM_RIGHTS", bad.Description, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Passes_a_file_descriptor_for_getfd_closefd_and_add_fd()
    {
        await using QemuQmpProcess qemu = await QemuQmpProcess.StartAsync();
        QmpClient qmp = qemu.Client!;
        CancellationToken ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(qemu.TempDir, "passed.txt");
        await File.WriteAllTextAsync(path, "hello", ct);

        using (SafeFileHandle file = File.OpenHandle(path))
        {
            await qmp.SendFileDescriptorAsync(file, ct);
            await qmp.ExecuteAsync("getfd", new { fdname = "passed" }, ct);
        }

        await qmp.ExecuteAsync("closefd", new { fdname = "passed" }, ct);
        var closedTwice = await Assert.ThrowsAsync<QmpCommandException>(() => qmp.ExecuteAsync("closefd", new { fdname = "passed" }, ct));
        Assert.Contains("passed", closedTwice.Description, StringComparison.Ordinal);

        using (SafeFileHandle file = File.OpenHandle(path))
        {
            await qmp.SendFileDescriptorAsync(file, ct);
            JsonElement added = await qmp.ExecuteAsync("add-fd", new { opaque = "qtk-test" }, ct);
            long fdset = added.GetProperty("fdset-id").GetInt64();
            JsonElement fdsets = await qmp.ExecuteAsync("query-fdsets", cancellationToken: ct);
            JsonElement set = Assert.Single(fdsets.EnumerateArray(), s => s.GetProperty("fdset-id").GetInt64() == fdset);
            Assert.Equal("qtk-test", Assert.Single(set.GetProperty("fds").EnumerateArray()).GetProperty("opaque").GetString());
            await qmp.ExecuteAsync("remove-fd", new { fdset_id = fdset }, ct);
        }

        Assert.Contains("SCM_RIGHTS", qmp.Transcript.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Quit_ends_the_connection_without_an_error_and_QEMU_exits()
    {
        await using QemuQmpProcess qemu = await QemuQmpProcess.StartAsync();
        QmpClient qmp = qemu.Client!;
        CancellationToken ct = TestContext.Current.CancellationToken;

        await qmp.ExecuteAsync("quit", cancellationToken: ct);
        await qmp.Completion.WaitAsync(Wait, ct);
        await qemu.Process.WaitForExitAsync(ct);

        Assert.True(qmp.QuitIssued);
        Assert.True(qmp.IsClosed);
        Assert.Equal(0, qemu.Process.ExitCode);
        QmpEvent shutdown = await qmp.WaitForEventAsync("SHUTDOWN", new { data = new { reason = "host-qmp-quit" } }, TimeSpan.Zero, ct);
        Assert.False(shutdown.Data.GetProperty("guest").GetBoolean());
        var after = await Assert.ThrowsAsync<QmpConnectionException>(() => qmp.ExecuteAsync("query-status", cancellationToken: ct));
        Assert.Contains("after quit", after.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Killing_QEMU_faults_a_waiting_call_with_QmpConnectionException()
    {
        await using QemuQmpProcess qemu = await QemuQmpProcess.StartAsync();
        QmpClient qmp = qemu.Client!;
        CancellationToken ct = TestContext.Current.CancellationToken;

        Task<QmpEvent> wait = qmp.WaitForEventAsync("NEVER", cancellationToken: ct);
        qemu.Process.Kill();

        await Assert.ThrowsAsync<QmpConnectionException>(() => wait);
        await Assert.ThrowsAsync<QmpConnectionException>(() => qmp.Completion);
        Assert.False(qmp.QuitIssued);
    }

    [Fact(Timeout = 120_000)]
    public async Task Connects_as_a_client_to_QEMUs_unix_and_tcp_servers_and_accepts_over_tcp()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string dir = Directory.CreateTempSubdirectory("qtk-qmp-").FullName;
        string sock = Path.Combine(dir, "server.sock");
        await using (QmpListener tcpListener = QmpListener.ListenTcp("127.0.0.1", 0))
        using (var tcpProbe = new TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            tcpProbe.Start();
            int tcpPort = ((System.Net.IPEndPoint)tcpProbe.LocalEndpoint).Port;
            tcpProbe.Stop();

            Assert.NotNull(tcpListener.Port);
            Assert.Equal($"127.0.0.1:{tcpListener.Port}", tcpListener.Address);
            using Process qemu = StartQemu(
                "-qmp", $"unix:{sock},server=on,wait=off",
                "-qmp", $"tcp:127.0.0.1:{tcpPort},server=on,wait=off",
                "-chardev", $"socket,id=mon,host=127.0.0.1,port={tcpListener.Port}", "-mon", "chardev=mon,mode=control");
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(Wait);
                await using QmpClient accepted = await tcpListener.AcceptAsync(cancellationToken: cts.Token);
                await using QmpClient unix = await ConnectWithRetryAsync(() => QmpClient.ConnectAsync(sock, cancellationToken: cts.Token), cts.Token);
                await using QmpClient tcp = await ConnectWithRetryAsync(() => QmpClient.ConnectAsync("127.0.0.1", tcpPort, cancellationToken: cts.Token), cts.Token);

                foreach (QmpClient client in new[] { accepted, unix, tcp })
                {
                    Assert.Equal("running", (await client.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString());
                }

                await Assert.ThrowsAsync<NotSupportedException>(() => tcp.SendFileDescriptorAsync(new SafeFileHandle(0, ownsHandle: false), ct));
                await Assert.ThrowsAsync<InvalidOperationException>(() => tcpListener.AcceptAsync(cancellationToken: ct));
                await unix.ExecuteAsync("quit", cancellationToken: ct);
                await qemu.WaitForExitAsync(cts.Token);
                Assert.Equal(0, qemu.ExitCode);
            }
            finally
            {
                if (!qemu.HasExited)
                {
                    qemu.Kill();
                    await qemu.WaitForExitAsync(CancellationToken.None);
                }

                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Accept_can_be_cancelled_and_dispose_removes_the_socket_file()
    {
        string dir = Directory.CreateTempSubdirectory("qtk-qmp-").FullName;
        try
        {
            string path = Path.Combine(dir, "qmp.sock");
            QmpListener listener = QmpListener.ListenUnix(path);
            Assert.True(File.Exists(path));
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            cts.CancelAfter(100);

            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener.AcceptAsync(cancellationToken: cts.Token));

            Assert.Equal(cts.Token, ex.CancellationToken);
            await listener.DisposeAsync();
            await listener.DisposeAsync();
            Assert.False(File.Exists(path));
            await Assert.ThrowsAsync<ObjectDisposedException>(() => listener.AcceptAsync(cancellationToken: TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Process StartQemu(params string[] extra) => Process.Start(QemuQmpProcess.BareQemu(extra))!;

    private static async Task<QmpClient> ConnectWithRetryAsync(Func<Task<QmpClient>> connect, CancellationToken cancellationToken)
    {
        // QEMU creates its server sockets after it connects the -mon client, so "accept" proves it is up; a short
        // retry covers the remaining start-up window of this client-mode test only.
        while (true)
        {
            try
            {
                return await connect();
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
