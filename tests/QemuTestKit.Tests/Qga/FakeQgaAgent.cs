using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Qga;
using QemuTestKit.Tests.Qmp;

namespace QemuTestKit.Tests.Qga;

/// <summary>
/// A scripted guest agent on the other end of an in-memory duplex pipe: the test decides, byte by byte, what the
/// client receives (stale bytes, 0xFF markers, late replies) and sees exactly what it sent.
/// </summary>
internal sealed class FakeQgaAgent : IAsyncDisposable
{
    private const byte Marker = 0xFF;

    private readonly Pipe _toClient = new();
    private readonly Pipe _toAgent = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public FakeQgaAgent() => ClientStream = new DuplexPipeStream(_toClient.Reader, _toAgent.Writer);

    /// <summary>The stream to give <see cref="QgaClient.ConnectAsync(Stream, QgaClientOptions?, CancellationToken)"/>.</summary>
    public Stream ClientStream { get; }

    /// <summary>Whether the message <see cref="ReceiveAsync"/> returned last was preceded by a 0xFF byte.</summary>
    public bool LastHadMarker { get; private set; }

    /// <summary>Starts a client and answers its first sync at once.</summary>
    public static async Task<(QgaClient Client, FakeQgaAgent Agent)> ConnectAsync(QgaClientOptions? options = null)
    {
        var agent = new FakeQgaAgent();
        Task<QgaClient> connect = QgaClient.ConnectAsync(agent.ClientStream, options, TestContext.Current.CancellationToken);
        JsonElement sync = await agent.ReceiveAsync();
        Assert.Equal("guest-sync-delimited", sync.GetProperty("execute").GetString());
        await agent.AnswerSyncAsync(sync);
        return (await connect, agent);
    }

    /// <summary>Sends one message (a newline is added).</summary>
    public Task SendAsync(string json) => SendRawAsync(Encoding.UTF8.GetBytes(json + "\n"));

    /// <summary>Sends bytes exactly as given.</summary>
    public async Task SendRawAsync(byte[] bytes)
    {
        await _writeLock.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            await _toClient.Writer.WriteAsync(bytes, TestContext.Current.CancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Answers a <c>guest-sync-delimited</c> the way qemu-ga does: 0xFF, then <c>{"return": id}</c>.</summary>
    public Task AnswerSyncAsync(JsonElement sync) =>
        SendRawAsync([Marker, .. Encoding.UTF8.GetBytes($$"""{"return": {{sync.GetProperty("arguments").GetProperty("id").GetRawText()}}}""" + "\n")]);

    /// <summary>Answers <paramref name="request"/> with <c>{"return": returnJson}</c>, echoing its <c>"id"</c>.</summary>
    public Task ReplyAsync(JsonElement request, string returnJson) =>
        SendAsync($$"""{"return": {{returnJson}}, "id": {{request.GetProperty("id").GetRawText()}}}""");

    /// <summary>Answers <paramref name="request"/> with an error reply, echoing its <c>"id"</c>.</summary>
    public Task ReplyErrorAsync(JsonElement request, string errorClass, string description) =>
        SendAsync($$"""{"error": {"class": "{{errorClass}}", "desc": "{{description}}"}, "id": {{request.GetProperty("id").GetRawText()}}}""");

    /// <summary>The next message the client sent; 0xFF bytes before it set <see cref="LastHadMarker"/>.</summary>
    public async Task<JsonElement> ReceiveAsync()
    {
        byte[] line = await PipeLines.ReadLineAsync(_toAgent.Reader);
        int markers = line.TakeWhile(b => b == Marker).Count();
        LastHadMarker = markers > 0;
        return JsonSerializer.Deserialize<JsonElement>(line.AsSpan(markers));
    }

    /// <summary>
    /// Plays the agent until the client closes: answers every sync, and every other command with
    /// <paramref name="answer"/> (which returns the <c>"return"</c> JSON, or throws <see cref="QgaCommandException"/> for an error reply).
    /// </summary>
    public async Task ServeAsync(Func<string, JsonElement, string> answer)
    {
        while (true)
        {
            JsonElement request;
            try
            {
                request = await ReceiveAsync();
            }
            catch (EndOfStreamException)
            {
                return;
            }

            string command = request.GetProperty("execute").GetString()!;
            if (command == "guest-sync-delimited")
            {
                await AnswerSyncAsync(request);
                continue;
            }

            JsonElement arguments = request.TryGetProperty("arguments", out JsonElement a) ? a : default;
            try
            {
                await ReplyAsync(request, answer(command, arguments));
            }
            catch (QgaCommandException ex)
            {
                await ReplyErrorAsync(request, ex.ErrorClass, ex.Description);
            }
        }
    }

    /// <summary>Closes the agent's side: the client sees end-of-file.</summary>
    public async Task CloseAsync() => await _toClient.Writer.CompleteAsync();

    public async ValueTask DisposeAsync()
    {
        await _toClient.Writer.CompleteAsync();
        await _toAgent.Reader.CompleteAsync();
        _writeLock.Dispose();
    }
}
