using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Qmp;

/// <summary>The client against a scripted fake QEMU over in-memory pipes: handshake, replies, errors, failures.</summary>
public sealed class QmpClientProtocolTests
{
    [Fact(Timeout = 30_000)]
    public async Task Parses_the_greeting_and_negotiates_capabilities()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Assert.Equal(new QmpVersion(7, 2, 22, "Debian 1:7.2+dfsg-7+deb12u18"), client.Greeting.Version);
            Assert.Equal(["oob"], client.Greeting.Capabilities);
            Assert.False(client.OobEnabled);
            Assert.Contains("\"execute\":\"qmp_capabilities\"", client.Transcript.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("enable", client.Transcript.ToString(), StringComparison.Ordinal);
            Assert.False(client.QuitIssued);
            Assert.False(client.Completion.IsCompleted);
            await server.SendEventAsync("RESUME");
            Assert.Equal("RESUME", (await client.DequeueEventAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Name);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Enables_oob_when_offered_and_wanted_and_sends_exec_oob()
    {
        var server = new FakeQmpServer();
        await using (server)
        {
            Task<QmpClient> connect = QmpClient.ConnectAsync(server.ClientStream, new QmpClientOptions { EnableOob = true }, TestContext.Current.CancellationToken);
            await server.SendAsync(FakeQmpServer.Greeting);
            JsonElement negotiate = await server.ReceiveAsync();
            Assert.Equal("oob", negotiate.GetProperty("arguments").GetProperty("enable")[0].GetString());
            await server.ReplyAsync(negotiate, "{}");
            await using QmpClient client = await connect;
            Assert.True(client.OobEnabled);

            Task<JsonElement> oob = client.ExecuteOobAsync("migrate-pause", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            Assert.Equal("migrate-pause", request.GetProperty("exec-oob").GetString());
            Assert.Equal(JsonValueKind.Number, request.GetProperty("id").ValueKind);
            Assert.False(request.TryGetProperty("execute", out _));
            Task<JsonElement> inBand = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement inBandRequest = await server.ReceiveAsync();
            Assert.Equal(JsonValueKind.Number, inBandRequest.GetProperty("id").ValueKind);

            // With OOB on, replies may come in any order: they are matched by id.
            await server.ReplyAsync(inBandRequest, """{"status": "running"}""");
            await server.ReplyAsync(request, "{}");
            Assert.Equal(JsonValueKind.Object, (await oob).ValueKind);
            Assert.Equal("running", (await inBand).GetProperty("status").GetString());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Does_not_enable_oob_when_QEMU_does_not_offer_it()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(
            new QmpClientOptions { EnableOob = true },
            greeting: """{"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 9}, "package": ""}, "capabilities": []}}""");
        await using (client)
        await using (server)
        {
            Assert.False(client.OobEnabled);
            Assert.Empty(client.Greeting.Capabilities);
            await Assert.ThrowsAsync<InvalidOperationException>(() => client.ExecuteOobAsync("query-status", cancellationToken: TestContext.Current.CancellationToken));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task No_greeting_times_out_with_TimeoutException()
    {
        await using var server = new FakeQmpServer();
        var options = new QmpClientOptions { CommandTimeout = TimeSpan.FromMilliseconds(200) };

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => QmpClient.ConnectAsync(server.ClientStream, options, TestContext.Current.CancellationToken));

        Assert.Contains("no greeting", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task No_greeting_and_a_cancelled_token_throws_OperationCanceledException_with_that_token()
    {
        await using var server = new FakeQmpServer();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(100);

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => QmpClient.ConnectAsync(server.ClientStream, cancellationToken: cts.Token));

        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact(Timeout = 30_000)]
    public async Task End_of_file_before_the_greeting_is_a_connection_error()
    {
        await using var server = new FakeQmpServer();
        Task<QmpClient> connect = QmpClient.ConnectAsync(server.ClientStream, cancellationToken: TestContext.Current.CancellationToken);
        await server.CloseAsync();

        await Assert.ThrowsAsync<QmpConnectionException>(() => connect);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_first_message_that_is_not_a_greeting_is_a_connection_error()
    {
        await using var server = new FakeQmpServer();
        Task<QmpClient> connect = QmpClient.ConnectAsync(server.ClientStream, cancellationToken: TestContext.Current.CancellationToken);
        await server.SendAsync("""{"return": {}}""");

        var ex = await Assert.ThrowsAsync<QmpConnectionException>(() => connect);
        Assert.Contains("greeting", ex.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteAsync_returns_the_return_value_and_sends_an_id_only_when_asked(bool sendIds)
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { SendCommandIds = sendIds });
        await using (client)
        await using (server)
        {
            Task<JsonElement> status = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            Assert.Equal("query-status", request.GetProperty("execute").GetString());
            Assert.Equal(sendIds, request.TryGetProperty("id", out JsonElement id));
            Assert.True(!sendIds || id.ValueKind == JsonValueKind.Number);
            Assert.False(request.TryGetProperty("arguments", out _));
            await server.ReplyAsync(request, """{"status": "running", "singlestep": false, "running": true}""");

            JsonElement result = await status;
            Assert.Equal("running", result.GetProperty("status").GetString());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task An_error_reply_throws_QmpCommandException_and_the_raw_form_returns_it()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> failing = client.ExecuteAsync("device_del", new { id = "nope" }, TestContext.Current.CancellationToken);
            await server.ReplyErrorAsync(await server.ReceiveAsync(), "DeviceNotFound", "Device 'nope' not found");
            var ex = await Assert.ThrowsAsync<QmpCommandException>(() => failing);
            Assert.Equal("device_del", ex.Command);
            Assert.Equal("DeviceNotFound", ex.ErrorClass);
            Assert.Equal("Device 'nope' not found", ex.Description);
            Assert.Contains("DeviceNotFound", ex.Message, StringComparison.Ordinal);

            Task<JsonElement> raw = client.ExecuteRawAsync("device_del", new { id = "nope" }, TestContext.Current.CancellationToken);
            await server.ReplyErrorAsync(await server.ReceiveAsync(), "DeviceNotFound", "Device 'nope' not found");
            JsonElement response = await raw;
            Assert.Equal("DeviceNotFound", response.GetProperty("error").GetProperty("class").GetString());
            Assert.True(response.TryGetProperty("error", out _));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Invalid_JSON_faults_the_pending_command_and_the_connection()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> pending = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReceiveAsync();
            await server.SendAsync("""{"return": {"status": "runn""");

            var ex = await Assert.ThrowsAsync<QmpConnectionException>(() => pending);
            Assert.Equal("query-status", ex.PendingCommand);
            Assert.Contains("invalid JSON", ex.Message, StringComparison.Ordinal);
            Assert.Contains("runn", ex.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<QmpConnectionException>(() => client.Completion);
            Assert.True(client.IsClosed);
            await Assert.ThrowsAsync<QmpConnectionException>(() => client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken));
        }
    }

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reply_with_an_unknown_id_is_ignored(bool sendIds)
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { SendCommandIds = sendIds });
        await using (client)
        await using (server)
        {
            Task<JsonElement> pending = client.ExecuteAsync("query-name", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            await server.SendAsync("""{"return": {"name": "impostor"}, "id": 987654}""");
            await server.SendAsync("""{"return": {"name": "string-id"}, "id": "x"}""");
            if (sendIds)
            {
                // Nothing waits for an id-less reply when every command carries an id.
                await server.SendAsync("""{"return": {"name": "no-id"}}""");
            }

            await server.ReplyAsync(request, """{"name": "vm1"}""");

            Assert.Equal("vm1", (await pending).GetProperty("name").GetString());
            Assert.False(client.IsClosed);
            Assert.Contains("impostor", client.Transcript.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_16_MiB_message_arrives_intact()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { TranscriptMaxBytes = 64 * 1024 });
        await using (client)
        await using (server)
        {
            string payload = string.Create(16 * 1024 * 1024, 0, (span, _) =>
            {
                for (int i = 0; i < span.Length; i++)
                {
                    span[i] = (char)('a' + (i % 26));
                }
            });
            Task<JsonElement> pending = client.ExecuteAsync("x-big", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            Task send = server.ReplyAsync(request, $$"""{"blob": "{{payload}}"}""");

            JsonElement result = await pending;
            await send;
            Assert.Equal(payload, result.GetProperty("blob").GetString());
            Assert.True(client.Transcript.DroppedCount >= 0);
            Assert.Contains("more characters", client.Transcript.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task End_of_file_in_the_middle_of_a_message_faults_the_pending_command()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> pending = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReceiveAsync();
            await server.SendRawAsync("""{"return": {"stat""");
            await server.CloseAsync();

            var ex = await Assert.ThrowsAsync<QmpConnectionException>(() => pending);
            Assert.Contains("middle of a message", ex.Message, StringComparison.Ordinal);
            Assert.Contains("query-status", ex.Message, StringComparison.Ordinal);
            var completion = await Assert.ThrowsAsync<QmpConnectionException>(() => client.Completion);
            Assert.Contains("middle of a message", completion.Message, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_dropped_connection_faults_every_pending_command_naming_it()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> a = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            Task<JsonElement> b = client.ExecuteAsync("query-name", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReceiveAsync();
            await server.ReceiveAsync();
            await server.CloseAsync();

            var exA = await Assert.ThrowsAsync<QmpConnectionException>(() => a);
            var exB = await Assert.ThrowsAsync<QmpConnectionException>(() => b);
            Assert.Equal("query-status", exA.PendingCommand);
            Assert.Equal("query-name", exB.PendingCommand);
            Assert.Contains("Last QMP messages", exA.Message, StringComparison.Ordinal);
            Assert.Contains("query-name", exA.Message, StringComparison.Ordinal);
            Assert.False(client.QuitIssued);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task End_of_file_after_a_successful_quit_is_not_an_error()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> quit = client.ExecuteAsync("quit", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            await server.ReplyAsync(request, "{}");
            await server.SendEventAsync("SHUTDOWN", """{"guest": false, "reason": "host-qmp-quit"}""");
            await server.CloseAsync();

            await quit;
            await client.Completion;
            Assert.True(client.QuitIssued);
            QmpEvent shutdown = await client.WaitForEventAsync("SHUTDOWN", cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal("host-qmp-quit", shutdown.Data.GetProperty("reason").GetString());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task End_of_file_while_quit_is_pending_completes_the_quit()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> quit = client.ExecuteAsync("quit", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReceiveAsync();
            await server.CloseAsync();

            await quit;
            await client.Completion;
            Assert.True(client.QuitIssued);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_thousand_concurrent_commands_each_get_their_own_reply(bool sendIds)
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { SendCommandIds = sendIds });
        await using (client)
        await using (server)
        {
            const int Count = 1000;
            Task<JsonElement>[] calls = [.. Enumerable.Range(0, Count).Select(i => Task.Run(() => client.ExecuteAsync("echo", new { n = i }, TestContext.Current.CancellationToken)))];
            var requests = new List<JsonElement>();
            for (int i = 0; i < Count; i++)
            {
                requests.Add(await server.ReceiveAsync());
            }

            Assert.Equal(Count, requests.Select(r => r.GetProperty("arguments").GetProperty("n").GetInt32()).Distinct().Count());

            // With ids, replies in a different order than the requests; without, in order as QEMU does. Events mixed in.
            Random random = new(42);
            foreach (JsonElement request in sendIds ? [.. requests.OrderBy(_ => random.Next())] : requests)
            {
                int n = request.GetProperty("arguments").GetProperty("n").GetInt32();
                await server.ReplyAsync(request, $$"""{"n": {{n}}}""");
                if (n % 100 == 0)
                {
                    await server.SendEventAsync("TICK", $$"""{"n": {{n}}}""");
                }
            }

            JsonElement[] results = await Task.WhenAll(calls);
            for (int i = 0; i < Count; i++)
            {
                Assert.Equal(i, results[i].GetProperty("n").GetInt32());
            }

            Assert.Equal(10, client.DequeueAllEvents().Count);
        }
    }

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancelling_a_wait_throws_with_the_callers_token_and_the_late_reply_is_dropped(bool sendIds)
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { SendCommandIds = sendIds });
        await using (client)
        await using (server)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            Task<JsonElement> pending = client.ExecuteAsync("query-status", cancellationToken: cts.Token);
            JsonElement request = await server.ReceiveAsync();
            await cts.CancelAsync();

            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
            Assert.Equal(cts.Token, ex.CancellationToken);

            await server.ReplyAsync(request, """{"late": true}""");
            Task<JsonElement> next = client.ExecuteAsync("query-name", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement nextRequest = await server.ReceiveAsync();
            await server.ReplyAsync(nextRequest, """{"name": "after"}""");
            Assert.Equal("after", (await next).GetProperty("name").GetString());
            Assert.False(client.IsClosed);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task An_already_cancelled_token_sends_nothing()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            int before = client.Transcript.Entries.Count;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ExecuteAsync("stop", cancellationToken: new CancellationToken(true)));
            Assert.Equal(before, client.Transcript.Entries.Count);

            Task<JsonElement> next = client.ExecuteAsync("query-name", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            Assert.Equal("query-name", request.GetProperty("execute").GetString());
            await server.ReplyAsync(request, "{}");
            await next;
        }
    }

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_command_without_a_reply_times_out_with_TimeoutException(bool sendIds)
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { CommandTimeout = TimeSpan.FromMilliseconds(200), SendCommandIds = sendIds });
        await using (client)
        await using (server)
        {
            Task<JsonElement> pending = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();

            var ex = await Assert.ThrowsAsync<TimeoutException>(() => pending);
            Assert.Contains("query-status", ex.Message, StringComparison.Ordinal);
            Assert.False(client.IsClosed);

            // The late reply belongs to the timed-out command, not to the next one.
            await server.ReplyAsync(request, """{"status": "late"}""");
            Task<JsonElement> next = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReplyAsync(await server.ReceiveAsync(), """{"status": "fresh"}""");
            Assert.Equal("fresh", (await next).GetProperty("status").GetString());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Close_is_idempotent_and_fails_pending_and_later_commands()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (server)
        {
            Task<JsonElement> pending = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReceiveAsync();

            await client.CloseAsync();
            await client.CloseAsync();
            await client.DisposeAsync();

            var ex = await Assert.ThrowsAsync<QmpConnectionException>(() => pending);
            Assert.Contains("closed by the client", ex.Message, StringComparison.Ordinal);
            await client.Completion;
            await Assert.ThrowsAsync<QmpConnectionException>(() => client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken));
            await Assert.ThrowsAsync<QmpConnectionException>(() => client.WaitForEventAsync("STOP", cancellationToken: TestContext.Current.CancellationToken));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Passing_a_file_descriptor_needs_a_unix_socket()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            string path = Path.GetTempFileName();
            try
            {
                using var file = File.OpenHandle(path);
                await Assert.ThrowsAsync<NotSupportedException>(() => client.SendFileDescriptorAsync(file, TestContext.Current.CancellationToken));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task The_transcript_records_every_message_both_ways_with_timestamps()
    {
        DateTimeOffset start = DateTimeOffset.UtcNow;
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<JsonElement> pending = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReplyAsync(await server.ReceiveAsync(), """{"status": "running"}""");
            await pending;
            await server.SendEventAsync("STOP");
            await client.WaitForEventAsync("STOP", cancellationToken: TestContext.Current.CancellationToken);

            IReadOnlyList<QmpTranscriptEntry> entries = client.Transcript.Entries;
            Assert.Equal(
                [QmpMessageDirection.Received, QmpMessageDirection.Sent, QmpMessageDirection.Received, QmpMessageDirection.Sent, QmpMessageDirection.Received, QmpMessageDirection.Received],
                entries.Select(e => e.Direction));
            Assert.StartsWith("{\"QMP\"", entries[0].Text, StringComparison.Ordinal);
            Assert.Contains("query-status", entries[3].Text, StringComparison.Ordinal);
            Assert.All(entries, e => Assert.InRange(e.Timestamp, start, DateTimeOffset.UtcNow));
            string text = client.Transcript.ToString();
            Assert.Contains(">> {\"execute\":\"query-status\"", text, StringComparison.Ordinal);
            Assert.Contains("<< {\"timestamp\"", text, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task The_transcript_is_capped_and_says_how_many_messages_it_dropped()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { TranscriptMaxBytes = 2000 });
        await using (client)
        await using (server)
        {
            for (int i = 0; i < 50; i++)
            {
                await server.SendEventAsync("TICK", $$"""{"n": {{i}}}""");
            }

            await client.WaitForEventAsync("TICK", new { data = new { n = 49 } }, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(client.Transcript.DroppedCount > 0);
            Assert.True(client.Transcript.Entries.Sum(e => Encoding.UTF8.GetByteCount(e.Text)) <= 2000);
            Assert.Contains("\"n\": 49", client.Transcript.Entries[^1].Text, StringComparison.Ordinal);
            Assert.StartsWith($"... ({client.Transcript.DroppedCount} earlier messages dropped", client.Transcript.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Arguments_from_dictionaries_and_anonymous_objects_get_converted_keys()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            _ = client.ExecuteAsync("blockdev-add", new { node_name = "disk0", read_only = true, file = new { a_b = 1 } }, TestContext.Current.CancellationToken);
            JsonElement args = (await server.ReceiveAsync()).GetProperty("arguments");
            Assert.Equal("disk0", args.GetProperty("node-name").GetString());
            Assert.True(args.GetProperty("read-only").GetBoolean());
            Assert.Equal(1, args.GetProperty("file").GetProperty("a_b").GetInt32()); // top level only, like the seed

            _ = client.ExecuteAsync("x", new Dictionary<string, object?> { ["cpu_index"] = 1, ["name"] = null, ["list"] = new List<int> { 1, 2 } }, TestContext.Current.CancellationToken);
            args = (await server.ReceiveAsync()).GetProperty("arguments");
            Assert.Equal(1, args.GetProperty("cpu-index").GetInt32());
            Assert.Equal(JsonValueKind.Null, args.GetProperty("name").ValueKind);
            Assert.Equal(2, args.GetProperty("list").GetArrayLength());

            _ = client.ExecuteAsync("x", new JsonObject { ["keep_me"] = "verbatim" }, TestContext.Current.CancellationToken);
            Assert.Equal("verbatim", (await server.ReceiveAsync()).GetProperty("arguments").GetProperty("keep_me").GetString());

            _ = client.ExecuteAsync("x", JsonSerializer.SerializeToElement(new { keep_me = 2 }), TestContext.Current.CancellationToken);
            Assert.Equal(2, (await server.ReceiveAsync()).GetProperty("arguments").GetProperty("keep_me").GetInt32());

            await Assert.ThrowsAsync<ArgumentException>(() => client.ExecuteAsync("x", new JsonArray(1, 2), TestContext.Current.CancellationToken));
            await Assert.ThrowsAsync<ArgumentException>(() => client.ExecuteAsync("x", 42, TestContext.Current.CancellationToken));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ConvertKeys_false_sends_keys_as_given()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { ConvertKeys = false });
        await using (client)
        await using (server)
        {
            _ = client.ExecuteAsync("x", new { node_name = "disk0" }, TestContext.Current.CancellationToken);
            JsonElement args = (await server.ReceiveAsync()).GetProperty("arguments");
            Assert.Equal("disk0", args.GetProperty("node_name").GetString());
            Assert.False(args.TryGetProperty("node-name", out _));
        }
    }
}
