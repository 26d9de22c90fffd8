using System.Text.Json;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Qmp;

/// <summary>Event queueing, waiting and listening against the scripted fake QEMU.</summary>
public sealed class QmpClientEventTests
{
    [Fact(Timeout = 30_000)]
    public async Task Events_before_and_between_replies_are_queued_in_arrival_order_with_timestamps()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            await server.SendEventAsync("A", seconds: 1_700_000_000, microseconds: 250_000);
            Task<JsonElement> first = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            await server.SendEventAsync("B", """{"x": 1}""");
            await server.ReplyAsync(request, "{}");
            await server.SendEventAsync("C");
            Task<JsonElement> second = client.ExecuteAsync("query-name", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReplyAsync(await server.ReceiveAsync(), "{}");
            await Task.WhenAll(first, second);

            Assert.True(client.TryDequeueEvent(out QmpEvent? a));
            Assert.Equal("A", a.Name);
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).AddMilliseconds(250), a.Timestamp);
            Assert.Equal(JsonValueKind.Object, a.Data.ValueKind);
            IReadOnlyList<QmpEvent> rest = client.DequeueAllEvents();
            Assert.Equal(["B", "C"], rest.Select(e => e.Name));
            Assert.Equal(1, rest[0].Data.GetProperty("x").GetInt32());
            Assert.Equal("B", rest[0].Message.GetProperty("event").GetString());
            Assert.False(client.TryDequeueEvent(out _));
            Assert.Empty(client.DequeueAllEvents());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task An_event_without_data_or_timestamp_gets_an_empty_object_and_the_arrival_time()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            DateTimeOffset before = DateTimeOffset.UtcNow;
            await server.SendAsync("""{"event": "BARE"}""");
            QmpEvent ev = await client.DequeueEventAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.Equal("BARE", ev.Name);
            Assert.Equal(JsonValueKind.Object, ev.Data.ValueKind);
            Assert.InRange(ev.Timestamp, before, DateTimeOffset.UtcNow);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForEventAsync_takes_the_matching_queued_event_and_leaves_the_others_in_order()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            await server.SendEventAsync("JOB", """{"id": "j1", "status": "running"}""");
            await server.SendEventAsync("JOB", """{"id": "j2", "status": "running"}""");
            await server.SendEventAsync("STOP");
            await server.SendEventAsync("JOB", """{"id": "j2", "status": "done"}""");
            await client.WaitForEventAsync("JOB", new { data = new { id = "j2", status = "done" } }, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

            QmpEvent j2running = await client.WaitForEventAsync("JOB", new { data = new { id = "j2" } }, TimeSpan.Zero, TestContext.Current.CancellationToken);
            Assert.Equal("running", j2running.Data.GetProperty("status").GetString());

            IReadOnlyList<QmpEvent> rest = client.DequeueAllEvents();
            Assert.Equal(["JOB", "STOP"], rest.Select(e => e.Name));
            Assert.Equal("j1", rest[0].Data.GetProperty("id").GetString());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForEventAsync_wakes_on_arrival_and_non_matching_arrivals_stay_queued()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<QmpEvent> wait = client.WaitForEventAsync("DEVICE_DELETED", new Dictionary<string, object?> { ["data"] = new { device = "nic0" } }, TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            await server.SendEventAsync("DEVICE_DELETED", """{"device": "disk0", "path": "/machine/peripheral/disk0"}""");
            await server.SendEventAsync("RESUME");
            Assert.False(wait.IsCompleted);
            await server.SendEventAsync("DEVICE_DELETED", """{"device": "nic0", "path": "/machine/peripheral/nic0"}""");

            QmpEvent ev = await wait;
            Assert.Equal("nic0", ev.Data.GetProperty("device").GetString());
            Assert.Equal(["DEVICE_DELETED", "RESUME"], client.DequeueAllEvents().Select(e => e.Name));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForEventAsync_with_null_in_the_match_matches_any_value()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            await server.SendEventAsync("BLOCK_JOB_COMPLETED", """{"device": "d", "len": 5}""");
            QmpEvent ev = await client.WaitForEventAsync("BLOCK_JOB_COMPLETED", new Dictionary<string, object?> { ["data"] = new Dictionary<string, object?> { ["len"] = null } }, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.Equal(5, ev.Data.GetProperty("len").GetInt32());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForEventAsync_times_out_with_TimeoutException_and_keeps_other_events()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            await server.SendEventAsync("RESUME");
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForEventAsync("STOP", timeout: TimeSpan.FromMilliseconds(150), cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains("STOP", ex.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForEventAsync("STOP", timeout: TimeSpan.Zero, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal("RESUME", Assert.Single(client.DequeueAllEvents()).Name);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Cancelling_an_event_wait_throws_with_the_callers_token()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            Task<QmpEvent> wait = client.WaitForEventAsync("STOP", cancellationToken: cts.Token);
            cts.CancelAfter(50);
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
            Assert.Equal(cts.Token, ex.CancellationToken);

            // The cancelled waiter must not swallow the next event.
            await server.SendEventAsync("STOP");
            Assert.Equal("STOP", (await client.DequeueEventAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Name);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WaitForAnyEventAsync_returns_the_first_event_matching_any_filter()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<QmpEvent> wait = client.WaitForAnyEventAsync([("SHUTDOWN", null), ("JOB", new { data = new { status = "concluded" } })], TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            await server.SendEventAsync("JOB", """{"status": "running"}""");
            await server.SendEventAsync("JOB", """{"status": "concluded"}""");
            QmpEvent ev = await wait;
            Assert.Equal("concluded", ev.Data.GetProperty("status").GetString());
            Assert.Single(client.DequeueAllEvents());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Two_waiters_for_the_same_event_get_one_each()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<QmpEvent> first = client.WaitForEventAsync("TICK", timeout: TimeSpan.FromSeconds(20), cancellationToken: TestContext.Current.CancellationToken);
            Task<QmpEvent> second = client.WaitForEventAsync("TICK", timeout: TimeSpan.FromSeconds(20), cancellationToken: TestContext.Current.CancellationToken);
            await server.SendEventAsync("TICK", """{"n": 1}""");
            await server.SendEventAsync("TICK", """{"n": 2}""");
            QmpEvent[] both = await Task.WhenAll(first, second);
            Assert.Equal([1, 2], both.Select(e => e.Data.GetProperty("n").GetInt32()).Order());
            Assert.Empty(client.DequeueAllEvents());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task An_event_wait_fails_when_the_connection_drops()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task<QmpEvent> wait = client.WaitForEventAsync("STOP", cancellationToken: TestContext.Current.CancellationToken);
            await server.CloseAsync();
            await Assert.ThrowsAsync<QmpConnectionException>(() => wait);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Listeners_get_a_copy_of_the_events_they_name_without_emptying_the_queue()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            IAsyncEnumerable<QmpEvent> stops = client.ListenAsync(["STOP", "RESUME"], TestContext.Current.CancellationToken);
            IAsyncEnumerable<QmpEvent> all = client.ListenAsync(cancellationToken: TestContext.Current.CancellationToken);
            await server.SendEventAsync("STOP");
            await server.SendEventAsync("TICK");
            await server.SendEventAsync("RESUME");
            await server.CloseAsync();

            var seenStops = new List<string>();
            await Assert.ThrowsAsync<QmpConnectionException>(async () =>
            {
                await foreach (QmpEvent ev in stops)
                {
                    seenStops.Add(ev.Name);
                }
            });
            var seenAll = new List<string>();
            await Assert.ThrowsAsync<QmpConnectionException>(async () =>
            {
                await foreach (QmpEvent ev in all)
                {
                    seenAll.Add(ev.Name);
                }
            });

            Assert.Equal(["STOP", "RESUME"], seenStops);
            Assert.Equal(["STOP", "TICK", "RESUME"], seenAll);
            Assert.Equal(3, client.DequeueAllEvents().Count);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_listener_ends_quietly_when_the_client_closes_and_can_be_cancelled()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (server)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            IAsyncEnumerable<QmpEvent> cancelled = client.ListenAsync(cancellationToken: cts.Token);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (QmpEvent ev in cancelled)
                {
                    Assert.Fail($"unexpected {ev}");
                }
            });

            IAsyncEnumerable<QmpEvent> listener = client.ListenAsync(cancellationToken: TestContext.Current.CancellationToken);
            await server.SendEventAsync("STOP");
            await client.WaitForEventAsync("STOP", cancellationToken: TestContext.Current.CancellationToken);
            await client.CloseAsync();
            var seen = new List<string>();
            await foreach (QmpEvent ev in listener)
            {
                seen.Add(ev.Name);
            }

            Assert.Equal(["STOP"], seen);
        }
    }
}
