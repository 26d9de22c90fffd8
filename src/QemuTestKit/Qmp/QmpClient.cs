using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

/// <summary>
/// An asynchronous QMP (QEMU Machine Protocol) client: the C# counterpart of QEMU's Python <c>qemu.qmp</c>.
/// Many commands may be in flight at once: QEMU answers in-band commands strictly in order, so replies are matched by
/// order (by id only for out-of-band commands, or when <see cref="QmpClientOptions.SendCommandIds"/> asks for ids);
/// events are queued in arrival order and can be waited for, dequeued or listened to.
/// </summary>
/// <remarks>
/// <para>Errors: an error reply throws <see cref="QmpCommandException"/>; a dropped connection, invalid JSON or a
/// missing greeting faults every pending call with <see cref="QmpConnectionException"/> (the end-of-file after a
/// successful <c>quit</c> is expected and not an error); an expired <see cref="QmpClientOptions.CommandTimeout"/> or
/// wait timeout throws <see cref="TimeoutException"/>; a cancelled token throws
/// <see cref="OperationCanceledException"/> carrying that token. A command that timed out or was cancelled has
/// already been sent: QEMU still runs it and its late reply is logged and dropped.</para>
/// <para>Thread-safe. <see cref="CloseAsync"/> and <see cref="DisposeAsync"/> are idempotent.</para>
/// </remarks>
public sealed partial class QmpClient : IAsyncDisposable
{
    private const int MaxMessageBytes = 64 * 1024 * 1024;
    private const int TailMessages = 12;
    private const string QuitCommand = "quit";

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly JsonElement QuitByEof = JsonDocument.Parse("""{"return": {}}""").RootElement.Clone();

    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly CancellationTokenSource _readCancel = new();
    private byte[] _readBuffer = new byte[InitialReadBufferBytes];
    private int _readStart;
    private int _readEnd;
    private int _readScanned;
    private readonly QmpClientOptions _options;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _writeBuffer = new(256);
    private readonly Utf8JsonWriter _jsonWriter;
    private readonly ConcurrentDictionary<long, PendingRequest> _pending = new();
    private readonly Queue<PendingRequest> _inOrder = new();
    private readonly Lock _inOrderLock = new();
    private readonly TaskCompletionSource<QmpGreeting> _greeting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _eventLock = new();
    private readonly List<QmpEvent> _events = [];
    private readonly List<EventWaiter> _waiters = [];
    private readonly List<EventListener> _listeners = [];
    private readonly Lazy<Task> _close;
    private long _nextId;
    private int _terminated;
    private volatile bool _quitIssued;
    private volatile bool _closing;
    private volatile bool _sendIds;
    private volatile string? _terminationReason;
    private QmpConnectionException? _terminationError;
    private readonly TaskCompletionSource _readLoopDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<Delivery>? _batch;
    private bool _readLoopStarted;

    private QmpClient(Stream stream, Socket? socket, QmpClientOptions options)
    {
        _stream = stream;
        _socket = socket;
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _name = options.Name ?? "qmp";
        _jsonWriter = new Utf8JsonWriter(_writeBuffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        Transcript = new QmpTranscript(options.TranscriptMaxBytes);
        _close = new Lazy<Task>(CloseCoreAsync);
        _sendIds = options.SendCommandIds;
    }

    /// <summary>QEMU's greeting: version and offered capabilities.</summary>
    public QmpGreeting Greeting => _greeting.Task.IsCompletedSuccessfully ? _greeting.Task.Result : throw new InvalidOperationException("No QMP greeting was received.");

    /// <summary>Whether out-of-band execution was negotiated (<see cref="QmpClientOptions.EnableOob"/> and QEMU offers it).</summary>
    public bool OobEnabled { get; private set; }

    /// <summary>Every message sent and received, with timestamps (capped; see <see cref="QmpTranscript"/>).</summary>
    public QmpTranscript Transcript { get; }

    /// <summary>A <c>quit</c> command succeeded (or QEMU closed the connection while it was pending): end-of-file is expected.</summary>
    public bool QuitIssued => _quitIssued;

    /// <summary>
    /// Completes when the connection ends: successfully after <see cref="CloseAsync"/> or a successful <c>quit</c>,
    /// faulted with <see cref="QmpConnectionException"/> when it ended unexpectedly.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>Whether the connection has ended (for any reason).</summary>
    public bool IsClosed => Volatile.Read(ref _terminated) != 0;

    /// <summary>Connects to QEMU's QMP unix socket at <paramref name="unixSocketPath"/>, reads the greeting and negotiates.</summary>
    /// <exception cref="SocketException">Nothing listens there.</exception>
    /// <exception cref="QmpConnectionException">No valid greeting, or the connection dropped during negotiation.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired during negotiation.</exception>
    public static async Task<QmpClient> ConnectAsync(string unixSocketPath, QmpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(unixSocketPath);
        Socket socket = await SocketConnect.UnixAsync(unixSocketPath, cancellationToken).ConfigureAwait(false);
        return await StartAsync(socket, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Connects to QEMU's QMP TCP socket, reads the greeting and negotiates.</summary>
    /// <exception cref="SocketException">Nothing listens there.</exception>
    /// <exception cref="QmpConnectionException">No valid greeting, or the connection dropped during negotiation.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired during negotiation.</exception>
    public static async Task<QmpClient> ConnectAsync(string host, int port, QmpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        Socket socket = await SocketConnect.TcpAsync(host, port, cancellationToken).ConfigureAwait(false);
        return await StartAsync(socket, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Speaks QMP over any duplex <paramref name="stream"/> (tests, pipes): reads the greeting and negotiates.
    /// The client owns the stream and disposes it on close. File descriptors cannot be passed over a plain stream.
    /// </summary>
    /// <exception cref="QmpConnectionException">No valid greeting, or the connection dropped during negotiation.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired during negotiation.</exception>
    public static Task<QmpClient> ConnectAsync(Stream stream, QmpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return StartAsync(stream, socket: null, options, cancellationToken);
    }

    internal static Task<QmpClient> StartAsync(Socket socket, QmpClientOptions? options, CancellationToken cancellationToken) =>
        StartAsync(new NetworkStream(socket, ownsSocket: true), socket, options, cancellationToken);

    private static async Task<QmpClient> StartAsync(Stream stream, Socket? socket, QmpClientOptions? options, CancellationToken cancellationToken)
    {
        var client = new QmpClient(stream, socket, options ?? new QmpClientOptions());
        try
        {
            await client.NegotiateAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task NegotiateAsync(CancellationToken cancellationToken)
    {
        _readLoopStarted = true;
        StartReadLoop();
        TimeSpan? timeout = _options.CommandTimeout;
        QmpGreeting greeting;
        try
        {
            greeting = await _greeting.Task.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"QMP {_name}: no greeting within {timeout}. {StallText()}", ex);
        }

        bool oob = _options.EnableOob && greeting.Capabilities.Contains("oob", StringComparer.Ordinal);
        JsonObject? arguments = oob ? new JsonObject { ["enable"] = new JsonArray("oob") } : null;
        await ExecuteAsync("qmp_capabilities", arguments, cancellationToken).ConfigureAwait(false);
        OobEnabled = oob;

        // With OOB on, replies may overtake each other: match everything by id from now on.
        _sendIds = _options.SendCommandIds || oob;
        QmpLog.Connected(_logger, _name, greeting.Version, greeting.Capabilities);
    }

    /// <summary>Runs <paramref name="command"/> and returns its <c>"return"</c> value.</summary>
    /// <param name="command">The QMP command, e.g. <c>query-status</c>.</param>
    /// <param name="arguments">
    /// <see langword="null"/>, a dictionary, an anonymous object (keys converted <c>_</c>→<c>-</c> when
    /// <see cref="QmpClientOptions.ConvertKeys"/>), or a <see cref="JsonElement"/>/<see cref="JsonNode"/> object (sent verbatim).
    /// </param>
    /// <param name="cancellationToken">Stops waiting; the command may still run in QEMU.</param>
    /// <exception cref="QmpCommandException">QEMU answered with an error (class, description, command).</exception>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonElement> ExecuteAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        ReturnOrThrow(command, await SendAsync(command, arguments, oob: false, cancellationToken).ConfigureAwait(false));

    /// <summary>Runs <paramref name="command"/> and returns the whole response (<c>{"return": …}</c> or <c>{"error": …}</c>, with <c>"id"</c>); never throws for an error reply.</summary>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<JsonElement> ExecuteRawAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        SendAsync(command, arguments, oob: false, cancellationToken);

    /// <summary>Runs <paramref name="command"/> out of band (<c>exec-oob</c>) and returns its <c>"return"</c> value.</summary>
    /// <exception cref="InvalidOperationException">OOB was not negotiated (<see cref="OobEnabled"/> is false).</exception>
    /// <exception cref="QmpCommandException">QEMU answered with an error.</exception>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonElement> ExecuteOobAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        ReturnOrThrow(command, await SendAsync(command, arguments, oob: true, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Passes the file descriptor <paramref name="handle"/> to QEMU over SCM_RIGHTS (with one space byte, like the
    /// QEMUMachine's <c>send_fd_scm</c>). Follow it with <c>getfd</c> (<c>{"fdname": …}</c>) or <c>add-fd</c>, which take the
    /// descriptor QEMU received last. The handle stays open here: close it when QEMU has it.
    /// </summary>
    /// <exception cref="NotSupportedException">The connection is not a unix socket.</exception>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="QmpConnectionException">The connection is closed or sending failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task SendFileDescriptorAsync(SafeHandle handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (_socket is not { AddressFamily: AddressFamily.Unix })
        {
            throw new NotSupportedException($"QMP {_name}: file descriptors can be passed only over a unix socket connection.");
        }

        cancellationToken = OrAmbient(cancellationToken);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed("SCM_RIGHTS");
            long fd = handle.DangerousGetHandle();
            try
            {
                UnixFdPassing.Send(_socket, handle);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw new QmpConnectionException($"QMP {_name}: passing a file descriptor failed: {ex.Message}", ex);
            }

            Transcript.Add(QmpMessageDirection.Sent, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"(SCM_RIGHTS: file descriptor {fd}, with one space byte)")));
            QmpLog.FdSent(_logger, _name, fd);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Closes the connection; pending commands fail with <see cref="QmpConnectionException"/>. Idempotent.</summary>
    public Task CloseAsync() => _close.Value;

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    /// <summary>The last messages of the transcript, for exception messages.</summary>
    internal string TailText() => "Last QMP messages:\n" + Transcript.Tail(TailMessages);

    /// <summary>The owner's diagnosis (<see cref="QmpClientOptions.StallDiagnosis"/>, e.g. QEMU's process state) and the transcript tail, for timeouts only.</summary>
    internal string StallText() => _options.StallDiagnosis?.Invoke() is { Length: > 0 } diagnosis ? diagnosis + "\n" + TailText() : TailText();

    private static JsonElement ReturnOrThrow(string command, JsonElement response)
    {
        if (response.TryGetProperty("return", out JsonElement value))
        {
            return value;
        }

        (string errorClass, string description) = CommandMessage.ReadError(response);
        throw new QmpCommandException(command, errorClass, description, response);
    }

    /// <summary>The caller's token, or the ambient one (the current test's) when the caller's cannot cancel.</summary>
    private CancellationToken OrAmbient(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled || _options.AmbientCancellation is not { } ambient ? cancellationToken : ambient();

    private async Task<JsonElement> SendAsync(string command, object? arguments, bool oob, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        cancellationToken = OrAmbient(cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (oob && !OobEnabled)
        {
            throw new InvalidOperationException($"QMP {_name}: out-of-band execution was not negotiated; set QmpClientOptions.EnableOob (QEMU offers: {string.Join(", ", Greeting.Capabilities)}).");
        }

        var pending = new PendingRequest(command, Interlocked.Increment(ref _nextId), sentWithId: oob || _sendIds);
        if (pending.SentWithId)
        {
            // Registered before the write so a reply can never overtake its registration.
            _pending[pending.Id] = pending;
            if (Volatile.Read(ref _terminated) != 0)
            {
                _pending.TryRemove(pending.Id, out _);
                ThrowIfClosed(command);
            }
        }

        TimeSpan? timeout = _options.CommandTimeout;
        try
        {
            await WriteCommandAsync(pending, arguments, oob, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Forget(pending);
            throw;
        }

        Task<JsonElement> reply = pending.Task;
        if (timeout is null)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return await reply.ConfigureAwait(false);
            }

            // Cheaper than WaitAsync on the hot path: one registration, no extra task between reply and caller.
            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static (state, token) => ThreadPool.UnsafeQueueUserWorkItem(static s => s.Request.TrySetCanceled(s.Token), (Request: (PendingRequest)state!, Token: token), preferLocal: false),
                pending);
            try
            {
                return await reply.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Forget(pending);
                throw;
            }
            finally
            {
                await registration.DisposeAsync().ConfigureAwait(false);
            }
        }

        try
        {
            return await reply.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            Forget(pending);
            if (reply.IsCompletedSuccessfully)
            {
                return reply.Result;
            }

            throw new TimeoutException($"QMP {_name}: no reply to '{command}' within {timeout}. {StallText()}", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Forget(pending);
            if (reply.IsCompletedSuccessfully)
            {
                return reply.Result;
            }

            throw;
        }
    }

    /// <summary>
    /// Stops tracking a command nobody waits for any more. One matched by order stays queued: its late reply must
    /// still be consumed by it, or every later command would get the reply of the one before.
    /// </summary>
    private void Forget(PendingRequest pending)
    {
        if (pending.SentWithId)
        {
            _pending.TryRemove(pending.Id, out _);
        }
    }

    private async Task WriteCommandAsync(PendingRequest pending, object? arguments, bool oob, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        string command = pending.Command;
        if (!await _writeLock.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"QMP {_name}: could not send '{command}' within {timeout}: another write is stuck. {StallText()}");
        }

        try
        {
            ThrowIfClosed(command);
            _writeBuffer.ResetWrittenCount();
            _jsonWriter.Reset(_writeBuffer);
            _jsonWriter.WriteStartObject();
            _jsonWriter.WriteString(oob ? "exec-oob"u8 : "execute"u8, command);
            if (arguments is not null)
            {
                _jsonWriter.WritePropertyName("arguments"u8);
                QmpArgumentWriter.Write(_jsonWriter, arguments, _options.ConvertKeys);
            }

            if (pending.SentWithId)
            {
                _jsonWriter.WriteNumber("id"u8, pending.Id);
            }

            _jsonWriter.WriteEndObject();
            _jsonWriter.Flush();
            _writeBuffer.Write("\n"u8);

            // One array per message: the wire bytes, and (without the newline) the transcript's copy.
            byte[] message = _writeBuffer.WrittenSpan.ToArray();
            var text = new ReadOnlyMemory<byte>(message, 0, message.Length - 1);
            if (!pending.SentWithId)
            {
                // Queued in write order (we hold the write lock): QEMU answers in-band commands in that order.
                lock (_inOrderLock)
                {
                    ThrowIfClosed(command);
                    _inOrder.Enqueue(pending);
                }
            }

            Transcript.Add(QmpMessageDirection.Sent, text);
            QmpLog.Sent(_logger, _name, new Utf8Text(text));
            try
            {
                // Never cancelled half-way: a torn message would corrupt the stream for every later command.
                if (_socket is { } socket)
                {
                    // Straight to the socket: no stream layer, no flush.
                    for (int sent = 0; sent < message.Length;)
                    {
                        sent += await socket.SendAsync(message.AsMemory(sent), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                else
                {
                    await _stream.WriteAsync(message, CancellationToken.None).ConfigureAwait(false);
                    await _stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // A failed write leaves the stream in an unknown state: end the connection, which fails this command too.
                Terminate(new QmpConnectionException($"QMP {_name}: sending '{command}' failed: {ex.Message}", ex), endOfFile: false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ThrowIfClosed(string command)
    {
        if (Volatile.Read(ref _terminated) != 0)
        {
            throw new QmpConnectionException($"QMP {_name}: cannot send '{command}': the connection is closed ({_terminationReason}).", _terminationError)
            {
                PendingCommand = command,
            };
        }
    }

    private async Task CloseCoreAsync()
    {
        _closing = true;

        // A socket read ends when the socket is disposed; a stream read (tests, pipes) may need the token.
        await _readCancel.CancelAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (_readLoopStarted)
        {
            await _readLoopDone.Task.ConfigureAwait(false);
        }

        Terminate(failure: null, endOfFile: false);
        _readCancel.Dispose();

        // Writers that come after this see the connection closed before touching the JSON writer.
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _jsonWriter.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
