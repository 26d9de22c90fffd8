using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Qmp;

/// <summary>
/// A scripted QMP server on the other end of an in-memory duplex pipe: the test decides, message by message, what
/// "QEMU" receives and sends, so protocol edge cases (bad JSON, torn messages, odd ids) can be produced on demand.
/// </summary>
internal sealed class FakeQmpServer : IAsyncDisposable
{
    public const string Greeting =
        """{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18"}, "capabilities": ["oob"]}}""";

    private readonly Pipe _toClient = new();
    private readonly Pipe _toServer = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public FakeQmpServer() => ClientStream = new DuplexPipeStream(_toClient.Reader, _toServer.Writer);

    /// <summary>The stream to give <see cref="QmpClient.ConnectAsync(Stream, QmpClientOptions?, CancellationToken)"/>.</summary>
    public Stream ClientStream { get; }

    /// <summary>Starts a client on <see cref="ClientStream"/> and plays QEMU's part of the handshake.</summary>
    public static async Task<(QmpClient Client, FakeQmpServer Server)> ConnectAsync(QmpClientOptions? options = null, string greeting = Greeting)
    {
        var server = new FakeQmpServer();
        Task<QmpClient> connect = QmpClient.ConnectAsync(server.ClientStream, options, TestContext.Current.CancellationToken);
        await server.SendAsync(greeting);
        JsonElement negotiate = await server.ReceiveAsync();
        Assert.Equal("qmp_capabilities", negotiate.GetProperty("execute").GetString());
        await server.ReplyAsync(negotiate, "{}");
        return (await connect, server);
    }

    /// <summary>Sends one message (a newline is added).</summary>
    public Task SendAsync(string json) => SendRawAsync(json + "\n");

    /// <summary>Sends bytes exactly as given.</summary>
    public async Task SendRawAsync(string text)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _toClient.Writer.WriteAsync(Encoding.UTF8.GetBytes(text));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Answers <paramref name="request"/> with <c>{"return": returnJson}</c>, echoing its <c>"id"</c> if it had one (as QEMU does).</summary>
    public Task ReplyAsync(JsonElement request, string returnJson) =>
        SendAsync($$"""{"return": {{returnJson}}{{IdSuffix(request)}}}""");

    /// <summary>Answers <paramref name="request"/> with an error reply.</summary>
    public Task ReplyErrorAsync(JsonElement request, string errorClass, string description) =>
        SendAsync($$"""{"error": {"class": "{{errorClass}}", "desc": "{{description}}"}{{IdSuffix(request)}}}""");

    private static string IdSuffix(JsonElement request) =>
        request.TryGetProperty("id", out JsonElement id) ? $", \"id\": {id.GetRawText()}" : "";

    /// <summary>Sends an event with a QEMU-style timestamp.</summary>
    public Task SendEventAsync(string name, string dataJson = "{}", long seconds = 1_764_000_000, int microseconds = 123_456) =>
        SendAsync($$"""{"timestamp": {"seconds": {{seconds}}, "microseconds": {{microseconds}}}, "event": "{{name}}", "data": {{dataJson}}}""");

    /// <summary>The next message the client sent (bytes that are only whitespace, like the SCM_RIGHTS space, are skipped).</summary>
    public async Task<JsonElement> ReceiveAsync()
    {
        while (true)
        {
            byte[] line = await PipeLines.ReadLineAsync(_toServer.Reader);
            if (!line.All(b => b == ' '))
            {
                return JsonSerializer.Deserialize<JsonElement>(line);
            }
        }
    }

    /// <summary>Closes the server's side: the client sees end-of-file.</summary>
    public async Task CloseAsync() => await _toClient.Writer.CompleteAsync();

    public async ValueTask DisposeAsync()
    {
        await _toClient.Writer.CompleteAsync();
        await _toServer.Reader.CompleteAsync();
        _writeLock.Dispose();
    }
}
