using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;

namespace QemuTestKit.Qga;

/// <summary>
/// An asynchronous client for the QEMU guest agent (<c>qemu-ga</c>), the counterpart of QEMU's Python
/// <c>qemu-ga-client</c> (<c>python/qemu/utils/qemu_ga_client.py</c>, built on <c>qemu.qmp</c>). It speaks QMP's JSON framing with the agent's own rules: no greeting and no
/// capabilities negotiation; <c>guest-sync-delimited</c> (with a random id, answered after a 0xFF marker byte) to
/// resynchronise on connect and on <see cref="ResyncAsync"/>, skipping whatever stale bytes and replies a previous
/// connection or guest boot left in the channel; commands that never answer (<c>guest-shutdown</c>,
/// <c>guest-suspend-*</c>) are sent without waiting, and the channel closing after them is expected.
/// </summary>
/// <remarks>
/// <para>Errors: an error reply throws <see cref="QgaCommandException"/>; a dropped channel faults every pending call
/// with <see cref="QgaConnectionException"/>; an expired <see cref="QgaClientOptions.CommandTimeout"/> throws
/// <see cref="TimeoutException"/> (the client stays usable: every command carries an id, so its late reply is
/// recognised and dropped); a cancelled token throws <see cref="OperationCanceledException"/> carrying that token.</para>
/// <para>Thread-safe. <see cref="CloseAsync"/> and <see cref="DisposeAsync"/> are idempotent.</para>
/// </remarks>
public sealed partial class QgaClient : IAsyncDisposable
{
    private const string SyncCommand = "guest-sync-delimited";

    /// <summary>What a command that never answers returns once sent.</summary>
    private static readonly JsonElement NoReplyResponse = JsonDocument.Parse("""{"return": {}}""").RootElement.Clone();

    private readonly JsonLinesChannel _channel;
    private readonly QgaClientOptions _options;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly SemaphoreSlim _syncGate = new(1, 1);
    private readonly Lock _syncLock = new();
    private QgaSync? _sync;
    private long _nextId;

    private QgaClient(Stream stream, Socket? socket, QgaClientOptions options)
    {
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _name = options.Name ?? "qga";
        Transcript = new QmpTranscript(options.TranscriptMaxBytes);
        _channel = new JsonLinesChannel(stream, socket, new Protocol(this), Transcript, options.ConvertKeys);
    }

    /// <summary>
    /// Every message sent and received, with timestamps (capped; see <see cref="QmpTranscript"/>): the agent speaks
    /// QMP's framing, so it shares QMP's transcript. Stale bytes skipped while resynchronising are in it too.
    /// </summary>
    public QmpTranscript Transcript { get; }

    /// <summary>Whether the channel has ended (for any reason).</summary>
    public bool IsClosed => _channel.IsClosed;

    /// <summary>
    /// Completes when the channel ends: successfully after <see cref="CloseAsync"/> or after a command that never
    /// answers (such as <c>guest-shutdown</c>), faulted with <see cref="QgaConnectionException"/> otherwise.
    /// </summary>
    public Task Completion => _channel.Completion;

    /// <summary>
    /// Connects to the agent's channel at the unix socket <paramref name="unixSocketPath"/> (QEMU's chardev behind the
    /// <c>org.qemu.guest_agent.0</c> port, or <c>qemu-ga -m unix-listen</c>) and resynchronises.
    /// </summary>
    /// <exception cref="SocketException">Nothing listens there.</exception>
    /// <exception cref="QgaConnectionException">The channel ended before the agent answered the sync.</exception>
    /// <exception cref="TimeoutException">The agent did not answer within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<QgaClient> ConnectAsync(string unixSocketPath, QgaClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(unixSocketPath);
        Socket socket = await SocketConnect.UnixAsync(unixSocketPath, cancellationToken).ConfigureAwait(false);
        return await StartAsync(new NetworkStream(socket, ownsSocket: true), socket, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Speaks to the agent over any duplex <paramref name="stream"/> (an accepted socket, a pipe, a test double) and
    /// resynchronises. The client owns the stream and disposes it on close, also when this call fails.
    /// </summary>
    /// <exception cref="QgaConnectionException">The channel ended before the agent answered the sync.</exception>
    /// <exception cref="TimeoutException">The agent did not answer within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<QgaClient> ConnectAsync(Stream stream, QgaClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return StartAsync(stream, socket: null, options, cancellationToken);
    }

    private static async Task<QgaClient> StartAsync(Stream stream, Socket? socket, QgaClientOptions? options, CancellationToken cancellationToken)
    {
        var client = new QgaClient(stream, socket, options ?? new QgaClientOptions());
        try
        {
            client._channel.ReadLoopStarted();
            _ = client.ReadLoopAsync();
            await client.ResyncAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Checks that the agent answers (<c>guest-ping</c>).</summary>
    /// <exception cref="QgaCommandException">The agent answered with an error.</exception>
    /// <exception cref="QgaConnectionException">The channel ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QgaClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task PingAsync(CancellationToken cancellationToken = default) => ExecuteAsync("guest-ping", cancellationToken: cancellationToken);

    /// <summary>The agent's version and enabled commands (<c>guest-info</c>).</summary>
    /// <exception cref="QgaCommandException">The agent answered with an error.</exception>
    /// <exception cref="QgaConnectionException">The channel ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QgaClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<QgaInfo> InfoAsync(CancellationToken cancellationToken = default) =>
        new(await ExecuteAsync("guest-info", cancellationToken: cancellationToken).ConfigureAwait(false));

    /// <summary>The guest's operating system (<c>guest-get-osinfo</c>).</summary>
    /// <exception cref="QgaCommandException">The agent answered with an error.</exception>
    /// <exception cref="QgaConnectionException">The channel ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QgaClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<QgaOsInfo> GetOsInfoAsync(CancellationToken cancellationToken = default) =>
        new(await ExecuteAsync("guest-get-osinfo", cancellationToken: cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Asks the guest to power off, halt or reboot (<c>guest-shutdown</c>). The agent never answers it, so this returns
    /// once the command is sent; the channel closing afterwards is expected (<see cref="Completion"/> succeeds). Watch
    /// QEMU (QMP events, the process exit) to know when the guest is down.
    /// </summary>
    /// <exception cref="QgaConnectionException">The channel is closed.</exception>
    /// <exception cref="TimeoutException">Another write blocked sending for longer than <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task ShutdownAsync(QgaShutdownMode mode = QgaShutdownMode.PowerDown, CancellationToken cancellationToken = default)
    {
        string wire = mode switch
        {
            QgaShutdownMode.PowerDown => "powerdown",
            QgaShutdownMode.Halt => "halt",
            QgaShutdownMode.Reboot => "reboot",
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Use PowerDown, Halt or Reboot."),
        };
        return ExecuteAsync("guest-shutdown", new JsonObject { ["mode"] = wire }, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="command"/> and returns its <c>"return"</c> value. A command that never answers
    /// (<c>guest-shutdown</c>, <c>guest-suspend-disk</c>/<c>-ram</c>/<c>-hybrid</c>) returns an empty object once sent.
    /// </summary>
    /// <param name="command">The agent command, e.g. <c>guest-get-time</c>.</param>
    /// <param name="arguments">
    /// <see langword="null"/>, a dictionary, an anonymous object (keys converted <c>_</c>→<c>-</c> when
    /// <see cref="QgaClientOptions.ConvertKeys"/>), or a <see cref="JsonElement"/>/<see cref="JsonNode"/> object (sent verbatim).
    /// </param>
    /// <param name="cancellationToken">Stops waiting; the command may still run in the guest.</param>
    /// <exception cref="QgaCommandException">The agent answered with an error (class, description, command).</exception>
    /// <exception cref="QgaConnectionException">The channel ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QgaClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonElement> ExecuteAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        ReturnOrThrow(command, await ExecuteRawAsync(command, arguments, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Runs <paramref name="command"/> and returns the whole response (<c>{"return": …}</c> or <c>{"error": …}</c>,
    /// with <c>"id"</c>); never throws for an error reply. A command that never answers returns <c>{"return": {}}</c> once sent.
    /// </summary>
    /// <exception cref="QgaConnectionException">The channel ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QgaClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonElement> ExecuteRawAsync(string command, object? arguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        cancellationToken.ThrowIfCancellationRequested();
        TimeSpan? timeout = _options.CommandTimeout;
        var call = new PendingCall(command, Interlocked.Increment(ref _nextId), sentWithId: true, resumeInline: false);
        if (NeverAnswers(command))
        {
            await WriteAsync(command, call.Id, arguments, MessageKind.Execute, timeout, cancellationToken).ConfigureAwait(false);
            return NoReplyResponse;
        }

        _channel.Register(call);
        try
        {
            await WriteAsync(command, call.Id, arguments, MessageKind.Execute, timeout, cancellationToken).ConfigureAwait(false);
            try
            {
                return await call.Task.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"Guest agent {_name}: no reply to '{command}' (#{call.Id.ToString(CultureInfo.InvariantCulture)}) within {timeout}. {TailText()}", ex);
            }
        }
        finally
        {
            // A late reply finds nobody and is logged and dropped: the next command is matched by its own id.
            _channel.Forget(call);
        }
    }

    /// <summary>Ends the channel: pending calls fail with <see cref="QgaConnectionException"/>; the stream is disposed.</summary>
    public Task CloseAsync() => _channel.CloseAsync();

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    /// <summary>The last messages of the transcript, for exception messages.</summary>
    internal string TailText() => _channel.TailText();

    /// <summary>The agent's commands declared without a success response: on success nothing ever comes back.</summary>
    private static bool NeverAnswers(string command) =>
        command is "guest-shutdown" or "guest-suspend-disk" or "guest-suspend-ram" or "guest-suspend-hybrid";

    private static JsonElement ReturnOrThrow(string command, JsonElement response) =>
        CommandMessage.ReturnOrThrow(command, response, static (command, errorClass, description, response) => new QgaCommandException(command, errorClass, description, response));

    /// <summary>
    /// Sends one message (see <see cref="JsonLinesChannel.WriteAsync"/>); a failed write, which ended the channel, throws
    /// here, since a command that never answers has no reply to fail.
    /// </summary>
    private async Task WriteAsync(string command, long? id, object? arguments, MessageKind kind, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (!await _channel.WriteAsync(command, arguments, id, kind, timeout, inOrder: null, otherEndCloses: NeverAnswers(command), cancellationToken).ConfigureAwait(false))
        {
            _channel.ThrowIfClosed(command);
        }
    }
}
