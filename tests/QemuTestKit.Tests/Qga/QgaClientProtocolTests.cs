using System.Text;
using System.Text.Json;
using QemuTestKit.Qga;

namespace QemuTestKit.Tests.Qga;

/// <summary>The guest agent client against a scripted fake agent over in-memory pipes: sync, replies, errors, failures.</summary>
public sealed class QgaClientProtocolTests
{
    [Fact(Timeout = 30_000)]
    public async Task Connect_flushes_with_0xFF_and_skips_stale_bytes_and_replies_until_its_own_sync_reply()
    {
        await using var agent = new FakeQgaAgent();
        Task<QgaClient> connect = QgaClient.ConnectAsync(agent.ClientStream, cancellationToken: TestContext.Current.CancellationToken);
        JsonElement sync = await agent.ReceiveAsync();
        Assert.True(agent.LastHadMarker, "the sync must be preceded by 0xFF, which flushes the agent's parser");
        Assert.Equal("guest-sync-delimited", sync.GetProperty("execute").GetString());
        long id = sync.GetProperty("arguments").GetProperty("id").GetInt64();
        Assert.False(sync.TryGetProperty("id", out _));

        // What a previous connection or guest boot left: a torn message, the agent's complaint about our 0xFF, an old
        // sync reply after its marker, our own id without a marker, and a reply to a command we never sent.
        await agent.SendRawAsync(Encoding.UTF8.GetBytes("""{"return": {"pid": 4"""));
        await agent.SendRawAsync([0xFF, .. Encoding.UTF8.GetBytes("""{"return": 12345}""" + "\n")]);
        await agent.SendAsync("""{"error": {"class": "GenericError", "desc": "JSON parse error, stray '\uFFFD'"}}""");
        await agent.SendAsync($$"""{"return": {{id}}}""");
        await agent.SendAsync("""{"return": {}, "id": 999}""");
        await agent.SendAsync("not json at all");
        await agent.AnswerSyncAsync(sync);

        await using QgaClient client = await connect;
        Task ping = client.PingAsync(TestContext.Current.CancellationToken);
        JsonElement request = await agent.ReceiveAsync();
        Assert.Equal("guest-ping", request.GetProperty("execute").GetString());
        Assert.False(agent.LastHadMarker);
        await agent.ReplyAsync(request, "{}");
        await ping;

        string transcript = client.Transcript.ToString();
        Assert.Contains("stale, before a 0xFF marker", transcript, StringComparison.Ordinal);
        Assert.Contains("stale, not JSON", transcript, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_sync_reply_without_the_marker_does_not_count_and_the_sync_is_sent_again()
    {
        await using var agent = new FakeQgaAgent();
        Task<QgaClient> connect = QgaClient.ConnectAsync(agent.ClientStream, cancellationToken: TestContext.Current.CancellationToken);
        JsonElement first = await agent.ReceiveAsync();
        long firstId = first.GetProperty("arguments").GetProperty("id").GetInt64();
        await agent.SendAsync($$"""{"return": {{firstId}}}""");

        // Unanswered (the marker was missing), the client tries again with a fresh id.
        JsonElement second = await agent.ReceiveAsync();
        Assert.True(agent.LastHadMarker);
        Assert.NotEqual(firstId, second.GetProperty("arguments").GetProperty("id").GetInt64());
        Assert.False(connect.IsCompleted);

        // A late answer to the first attempt, with its marker, is as good as an answer to the second.
        await agent.AnswerSyncAsync(first);
        await using QgaClient client = await connect;
        Assert.False(client.IsClosed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Connect_with_no_agent_answering_times_out_naming_qemu_ga_and_releases_the_stream()
    {
        await using var agent = new FakeQgaAgent();
        var options = new QgaClientOptions { CommandTimeout = TimeSpan.FromSeconds(2) };

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => QgaClient.ConnectAsync(agent.ClientStream, options, TestContext.Current.CancellationToken));

        Assert.Contains("guest-sync-delimited", ex.Message, StringComparison.Ordinal);
        Assert.Contains("qemu-ga", ex.Message, StringComparison.Ordinal);

        // Every attempt was flushed with 0xFF and had its own id; then the client closed its side.
        var ids = new HashSet<long>();
        while (true)
        {
            JsonElement sync;
            try
            {
                sync = await agent.ReceiveAsync();
            }
            catch (EndOfStreamException)
            {
                break;
            }

            Assert.True(agent.LastHadMarker);
            Assert.True(ids.Add(sync.GetProperty("arguments").GetProperty("id").GetInt64()));
        }

        Assert.NotEmpty(ids);
    }

    [Fact(Timeout = 30_000)]
    public async Task ResyncAsync_skips_the_late_reply_of_a_timed_out_command()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync(new QgaClientOptions { CommandTimeout = TimeSpan.FromMilliseconds(300) });
        await using (client)
        await using (agent)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => client.ExecuteAsync("guest-fsfreeze-status", cancellationToken: TestContext.Current.CancellationToken));
            JsonElement slow = await agent.ReceiveAsync();

            Task resync = client.ResyncAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            JsonElement sync = await agent.ReceiveAsync();
            Assert.True(agent.LastHadMarker);
            await agent.ReplyAsync(slow, "\"thawed\"");
            await agent.AnswerSyncAsync(sync);
            await resync;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task An_error_reply_throws_QgaCommandException_with_class_description_and_command()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (client)
        await using (agent)
        {
            Task<JsonElement> open = client.ExecuteAsync("guest-file-open", new { path = "/nope", mode = "r" }, TestContext.Current.CancellationToken);
            JsonElement request = await agent.ReceiveAsync();
            Assert.Equal("/nope", request.GetProperty("arguments").GetProperty("path").GetString());
            await agent.ReplyErrorAsync(request, "GenericError", "failed to open file '/nope' (mode: 'r')");

            var ex = await Assert.ThrowsAsync<QgaCommandException>(() => open);
            Assert.Equal("guest-file-open", ex.Command);
            Assert.Equal("GenericError", ex.ErrorClass);
            Assert.Equal("failed to open file '/nope' (mode: 'r')", ex.Description);
            Assert.Contains("/nope", ex.Message, StringComparison.Ordinal);

            // The raw variant hands the error reply back instead.
            Task<JsonElement> raw = client.ExecuteRawAsync("guest-nonexistent", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement second = await agent.ReceiveAsync();
            await agent.ReplyErrorAsync(second, "CommandNotFound", "The command guest-nonexistent has not been found");
            Assert.Equal("CommandNotFound", (await raw).GetProperty("error").GetProperty("class").GetString());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_command_that_never_answers_times_out_and_its_late_reply_does_not_answer_the_next_command()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync(new QgaClientOptions { CommandTimeout = TimeSpan.FromMilliseconds(300) });
        await using (client)
        await using (agent)
        {
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.ExecuteAsync("guest-get-time", cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains("guest-get-time", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Last guest agent messages", ex.Message, StringComparison.Ordinal);
            JsonElement lost = await agent.ReceiveAsync();

            Task<JsonElement> next = client.ExecuteAsync("guest-get-host-name", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await agent.ReceiveAsync();
            await agent.ReplyAsync(lost, "1764000000000000000");
            await agent.ReplyAsync(request, """{"host-name": "tiny"}""");

            Assert.Equal("tiny", (await next).GetProperty("host-name").GetString());
            Assert.False(client.IsClosed);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Cancelling_throws_OperationCanceledException_with_the_callers_token_and_the_client_stays_usable()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync(new QgaClientOptions { CommandTimeout = null });
        await using (client)
        await using (agent)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            Task<JsonElement> call = client.ExecuteAsync("guest-get-time", cancellationToken: cts.Token);
            await agent.ReceiveAsync();
            await cts.CancelAsync();

            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            Assert.Equal(cts.Token, ex.CancellationToken);

            Task ping = client.PingAsync(TestContext.Current.CancellationToken);
            await agent.ReplyAsync(await agent.ReceiveAsync(), "{}");
            await ping;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_dropped_channel_faults_every_pending_call_and_later_calls()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync(new QgaClientOptions { CommandTimeout = null });
        await using (client)
        await using (agent)
        {
            Task<JsonElement> first = client.ExecuteAsync("guest-get-time", cancellationToken: TestContext.Current.CancellationToken);
            Task<JsonElement> second = client.ExecuteAsync("guest-get-users", cancellationToken: TestContext.Current.CancellationToken);
            await agent.ReceiveAsync();
            await agent.ReceiveAsync();
            await agent.CloseAsync();

            var e1 = await Assert.ThrowsAsync<QgaConnectionException>(() => first);
            var e2 = await Assert.ThrowsAsync<QgaConnectionException>(() => second);
            Assert.Equal("guest-get-time", e1.PendingCommand);
            Assert.Equal("guest-get-users", e2.PendingCommand);
            Assert.Contains("guest-get-users", e2.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<QgaConnectionException>(() => client.Completion);
            Assert.True(client.IsClosed);
            await Assert.ThrowsAsync<QgaConnectionException>(() => client.PingAsync(TestContext.Current.CancellationToken));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Guest_shutdown_is_sent_without_waiting_and_the_channel_closing_after_it_is_expected()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync(new QgaClientOptions { CommandTimeout = null });
        await using (client)
        await using (agent)
        {
            // No reply ever comes; with no command timeout, waiting for one would hang the test.
            await client.ShutdownAsync(QgaShutdownMode.Reboot, TestContext.Current.CancellationToken);
            JsonElement request = await agent.ReceiveAsync();
            Assert.Equal("guest-shutdown", request.GetProperty("execute").GetString());
            Assert.Equal("reboot", request.GetProperty("arguments").GetProperty("mode").GetString());

            await agent.CloseAsync();
            await client.Completion;
            Assert.True(client.IsClosed);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Exec_polls_the_status_until_the_process_exits_and_decodes_its_output()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (client)
        await using (agent)
        {
            Task<QgaExecResult> exec = client.ExecAsync(
                "/bin/sh", ["-c", "cat; echo oops >&2; exit 3"], Encoding.UTF8.GetBytes("in"), new Dictionary<string, string> { ["A"] = "b=c" }, cancellationToken: TestContext.Current.CancellationToken);

            JsonElement start = await agent.ReceiveAsync();
            JsonElement arguments = start.GetProperty("arguments");
            Assert.Equal("guest-exec", start.GetProperty("execute").GetString());
            Assert.Equal("/bin/sh", arguments.GetProperty("path").GetString());
            Assert.Equal(["-c", "cat; echo oops >&2; exit 3"], arguments.GetProperty("arg").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal(["A=b=c"], arguments.GetProperty("env").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal("in", Encoding.UTF8.GetString(arguments.GetProperty("input-data").GetBytesFromBase64()));
            Assert.True(arguments.GetProperty("capture-output").GetBoolean());
            await agent.ReplyAsync(start, """{"pid": 4242}""");

            for (int i = 0; i < 3; i++)
            {
                JsonElement poll = await agent.ReceiveAsync();
                Assert.Equal("guest-exec-status", poll.GetProperty("execute").GetString());
                Assert.Equal(4242, poll.GetProperty("arguments").GetProperty("pid").GetInt64());
                await agent.ReplyAsync(poll, """{"exited": false}""");
            }

            JsonElement last = await agent.ReceiveAsync();
            byte[] binary = [0, 1, 0xFE, 0xFF, (byte)'\n'];
            await agent.ReplyAsync(last, $$"""{"exited": true, "exitcode": 3, "out-data": "{{Convert.ToBase64String(binary)}}", "err-data": "{{Convert.ToBase64String("oops\n"u8)}}"}""");

            QgaExecResult result = await exec;
            Assert.Equal(4242, result.Pid);
            Assert.Equal(3, result.ExitCode);
            Assert.Null(result.Signal);
            Assert.Equal(binary, result.StandardOutput);
            Assert.Equal("oops\n", result.StandardErrorText);
            Assert.False(result.Truncated);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Exec_of_a_process_killed_by_a_signal_reports_128_plus_the_signal()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (client)
        await using (agent)
        {
            Task serve = agent.ServeAsync((command, _) => command == "guest-exec" ? """{"pid": 7}""" : """{"exited": true, "signal": 9}""");
            QgaExecResult result = await client.ExecAsync("/bin/sleep", ["100"], cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(137, result.ExitCode);
            Assert.Equal(9, result.Signal);
            Assert.Empty(result.StandardOutput);
            await client.CloseAsync();
            await serve;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Exec_that_never_exits_times_out_naming_the_guest_pid()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (client)
        await using (agent)
        {
            Task serve = agent.ServeAsync((command, _) => command == "guest-exec" ? """{"pid": 31337}""" : """{"exited": false}""");
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.ExecAsync("/bin/sleep", ["1000"], timeout: TimeSpan.FromMilliseconds(300), cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains("31337", ex.Message, StringComparison.Ordinal);
            Assert.Contains("still running", ex.Message, StringComparison.Ordinal);
            await client.CloseAsync();
            await serve;
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_file_written_and_read_back_in_several_blocks_has_the_same_bytes()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (client)
        await using (agent)
        {
            var files = new InMemoryGuestFiles();
            Task serve = agent.ServeAsync(files.Answer);

            // Every byte value, 2.5 blocks of 1 MiB plus an odd tail.
            byte[] content = new byte[(5 * 1024 * 1024 / 2) + 77];
            for (int i = 0; i < content.Length; i++)
            {
                content[i] = (byte)(i * 7);
            }

            await client.WriteFileAsync("/tmp/blob", content, TestContext.Current.CancellationToken);
            byte[] back = await client.ReadFileAsync("/tmp/blob", TestContext.Current.CancellationToken);
            using var copy = new MemoryStream();
            await client.ReadFileAsync("/tmp/blob", copy, TestContext.Current.CancellationToken);

            Assert.Equal(content, back);
            Assert.Equal(content, copy.ToArray());
            Assert.Equal(content, files.Content("/tmp/blob"));
            Assert.Equal(3, files.Writes);
            Assert.True(files.Reads >= 6, $"expected at least 3 reads per copy, got {files.Reads}");
            Assert.Empty(files.OpenHandles);

            // The stream variant writes the same way, from whatever the stream gives.
            await client.WriteFileAsync("/tmp/copy", new MemoryStream(content), TestContext.Current.CancellationToken);
            Assert.Equal(content, files.Content("/tmp/copy"));
            Assert.Empty(files.OpenHandles);
            await client.CloseAsync();
            await serve;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_file_read_that_fails_closes_its_handle_and_throws_the_agents_error()
    {
        (QgaClient client, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (client)
        await using (agent)
        {
            var files = new InMemoryGuestFiles { FailReads = true };
            files.Put("/tmp/x", [1, 2, 3]);
            Task serve = agent.ServeAsync(files.Answer);

            var ex = await Assert.ThrowsAsync<QgaCommandException>(() => client.ReadFileAsync("/tmp/x", TestContext.Current.CancellationToken));
            Assert.Equal("guest-file-read", ex.Command);
            Assert.Empty(files.OpenHandles);
            Assert.Equal(1, files.Closes);
            await client.CloseAsync();
            await serve;
        }
    }
}
