using System.Text.Json;
using QemuTestKit.Qga;
using QemuTestKit.Qmp;
using QemuTestKit.Tests.Qga;

namespace QemuTestKit.Tests.Qmp;

/// <summary>
/// What QmpClient and QgaClient share through their one JSON-lines channel: the same error-reply type, the same
/// evidence when the peer hangs up, the same refusal once the channel is closed.
/// </summary>
public sealed class SharedChannelTests
{
    // An agent or QEMU that echoes a guest's terminal output into an error description must not put raw escapes into a
    // test report: the description keeps the bytes, the message shows them.
    private const string EscapeInJson = "\\u001b[31mred";
    private const string EscapeRaw = "\u001b[31mred";

    [Fact(Timeout = 30_000)]
    public Task An_error_reply_from_QEMU_or_from_the_guest_agent_is_one_catchable_type_with_a_printable_message() =>
        WithBothAsync(async (qmp, server, qga, agent, ct) =>
        {
            Task<JsonElement> qmpCall = qmp.ExecuteAsync("device_del", new { id = "nope" }, ct);
            await server.ReplyErrorAsync(await server.ReceiveAsync(), "DeviceNotFound", EscapeInJson);
            Task<JsonElement> qgaCall = qga.ExecuteAsync("guest-file-open", new { path = "/nope" }, ct);
            await agent.ReplyErrorAsync(await agent.ReceiveAsync(), "GenericError", EscapeInJson);

            CommandErrorException fromQemu = await Assert.ThrowsAsync<QmpCommandException>(() => qmpCall);
            CommandErrorException fromAgent = await Assert.ThrowsAsync<QgaCommandException>(() => qgaCall);
            foreach ((CommandErrorException ex, string command, string errorClass) in new[]
                     {
                         (fromQemu, "device_del", "DeviceNotFound"),
                         (fromAgent, "guest-file-open", "GenericError"),
                     })
            {
                Assert.Equal(command, ex.Command);
                Assert.Equal(errorClass, ex.ErrorClass);
                Assert.Equal(EscapeRaw, ex.Description);
                Assert.Equal(errorClass, ex.Response.GetProperty("error").GetProperty("class").GetString());
                Assert.Contains(@"\x1b[31mred", ex.Message, StringComparison.Ordinal);
                Assert.DoesNotContain('\u001b', ex.Message);
            }
        }, TestContext.Current.CancellationToken);

    [Fact(Timeout = 30_000)]
    public Task A_peer_that_hangs_up_fails_the_pending_call_of_either_client_with_its_command_and_the_transcript_tail() =>
        WithBothAsync(async (qmp, server, qga, agent, ct) =>
        {
            Task<JsonElement> qmpCall = qmp.ExecuteAsync("query-status", cancellationToken: ct);
            _ = await server.ReceiveAsync();
            await server.CloseAsync();
            Task<JsonElement> qgaCall = qga.ExecuteAsync("guest-get-time", cancellationToken: ct);
            _ = await agent.ReceiveAsync();
            await agent.CloseAsync();

            QmpConnectionException qmpLost = await Assert.ThrowsAsync<QmpConnectionException>(() => qmpCall);
            QgaConnectionException qgaLost = await Assert.ThrowsAsync<QgaConnectionException>(() => qgaCall);
            Assert.Equal("query-status", qmpLost.PendingCommand);
            Assert.Equal("guest-get-time", qgaLost.PendingCommand);
            Assert.Contains("no reply to 'query-status' (#", qmpLost.Message, StringComparison.Ordinal);
            Assert.Contains("closed by QEMU", qmpLost.Message, StringComparison.Ordinal);
            Assert.Contains("Last QMP messages:", qmpLost.Message, StringComparison.Ordinal);
            Assert.Contains("no reply to 'guest-get-time' (#", qgaLost.Message, StringComparison.Ordinal);
            Assert.Contains("closed by the other end (end of file)", qgaLost.Message, StringComparison.Ordinal);
            Assert.Contains("Last guest agent messages:", qgaLost.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<QmpConnectionException>(() => qmp.Completion);
            await Assert.ThrowsAsync<QgaConnectionException>(() => qga.Completion);

            // Closed is closed: the next command is refused before anything is written, naming it.
            QmpConnectionException qmpRefused = await Assert.ThrowsAsync<QmpConnectionException>(() => qmp.ExecuteAsync("query-name", cancellationToken: ct));
            QgaConnectionException qgaRefused = await Assert.ThrowsAsync<QgaConnectionException>(() => qga.ExecuteAsync("guest-ping", cancellationToken: ct));
            Assert.Contains("cannot send 'query-name': the connection is closed", qmpRefused.Message, StringComparison.Ordinal);
            Assert.Contains("cannot send 'guest-ping': the channel is closed", qgaRefused.Message, StringComparison.Ordinal);
            Assert.Equal("query-name", qmpRefused.PendingCommand);
            Assert.Equal("guest-ping", qgaRefused.PendingCommand);
        }, TestContext.Current.CancellationToken);

    /// <summary>Runs <paramref name="body"/> with a QMP client on a fake QEMU and an agent client on a fake agent.</summary>
    private static async Task WithBothAsync(Func<QmpClient, FakeQmpServer, QgaClient, FakeQgaAgent, CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        (QmpClient qmp, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        (QgaClient qga, FakeQgaAgent agent) = await FakeQgaAgent.ConnectAsync();
        await using (qmp)
        await using (server)
        await using (qga)
        await using (agent)
        {
            await body(qmp, server, qga, agent, cancellationToken);
        }
    }
}
