using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Qmp;

// The point of these tests is a call made without a token: the analyzer rule that asks for one does not apply.
#pragma warning disable xUnit1051, xUnit1069

/// <summary>QMP calls made without a token follow the ambient one (QemuVm: the current test's); a caller's own token wins.</summary>
public sealed class QmpAmbientCancellationTests
{
    [Fact(Timeout = 30_000)]
    public async Task Commands_and_event_waits_without_a_token_end_when_the_ambient_token_cancels()
    {
        using var ambient = new CancellationTokenSource();
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(
            new QmpClientOptions { AmbientCancellation = () => ambient.Token, CommandTimeout = TimeSpan.FromMinutes(10) });
        await using (client)
        await using (server)
        {
            Task command = client.ExecuteAsync("query-status");
            Task wait = client.WaitForEventAsync("NEVER", timeout: TimeSpan.FromMinutes(10));
            await server.ReceiveAsync(); // the command was sent; "QEMU" never answers it
            await ambient.CancelAsync();

            Assert.Equal(ambient.Token, (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => command)).CancellationToken);
            Assert.Equal(ambient.Token, (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait)).CancellationToken);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_callers_token_is_used_instead_of_the_ambient_one()
    {
        using var ambient = new CancellationTokenSource();
        await ambient.CancelAsync();
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync(new QmpClientOptions { AmbientCancellation = () => ambient.Token });
        await using (client)
        await using (server)
        {
            Task<System.Text.Json.JsonElement> command = client.ExecuteAsync("query-status", cancellationToken: TestContext.Current.CancellationToken);
            await server.ReplyAsync(await server.ReceiveAsync(), """{"status": "running", "running": true}""");

            Assert.Equal("running", (await command).GetProperty("status").GetString());
        }
    }
}
