using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// The JSON-lines transport QMP and the guest agent share: commands written whole, one at a time, one per line; one
/// table of calls waiting for their reply (by id or by order); one end of the transport, which fails every waiter with
/// the reason and the transcript's tail. The clients keep what differs (<see cref="JsonLinesProtocol"/>), and their
/// own read loops: QMP's greeting, events and hot path, the agent's 0xFF resynchronisation.
/// </summary>
internal sealed partial class JsonLinesChannel : IAsyncDisposable
{
    /// <summary>A line longer than this is not a message but a broken peer.</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    private const int TailMessages = 12;

    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly JsonLinesProtocol _protocol;
    private readonly QmpTranscript _transcript;
    private readonly bool _convertKeys;
    private readonly CancellationTokenSource _readCancel = new();
    private readonly TaskCompletionSource _readLoopDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _writeBuffer = new(256);
    private readonly Utf8JsonWriter _jsonWriter;
    private readonly ConcurrentDictionary<long, PendingCall> _byId = new();
    private readonly Queue<PendingCall> _inOrder = new();
    private readonly Lock _inOrderLock = new();
    private readonly Lazy<Task> _close;
    private int _terminated;
    private volatile bool _closing;
    private volatile bool _readLoopStarted;
    private volatile string? _terminationReason;
    private volatile string? _otherEndClosesAfter;
    private Exception? _terminationError;

    /// <param name="stream">The transport; owned (disposed on close).</param>
    /// <param name="socket">The socket under <paramref name="stream"/>, if any: read and written directly, without the stream layer.</param>
    /// <param name="protocol">What differs between QMP and the guest agent.</param>
    /// <param name="transcript">Receives every message written.</param>
    /// <param name="convertKeys">Convert top-level argument keys <c>_</c>→<c>-</c>.</param>
    public JsonLinesChannel(Stream stream, Socket? socket, JsonLinesProtocol protocol, QmpTranscript transcript, bool convertKeys)
    {
        _stream = stream;
        _socket = socket;
        _protocol = protocol;
        _transcript = transcript;
        _convertKeys = convertKeys;
        _jsonWriter = new Utf8JsonWriter(_writeBuffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _close = new Lazy<Task>(CloseCoreAsync);
    }

    /// <summary>The socket under the stream, if any (QMP passes file descriptors over it).</summary>
    public Socket? Socket => _socket;

    /// <summary>Whether the channel has ended (for any reason).</summary>
    public bool IsClosed => Volatile.Read(ref _terminated) != 0;

    /// <summary>Why the channel ended; null while it is open.</summary>
    public string? TerminationReason => _terminationReason;

    /// <summary>The connection error the channel ended with; null while open or when the end was expected.</summary>
    public Exception? TerminationError => _terminationError;

    /// <summary>Completes when the channel ends: successfully when expected, else faulted with the connection error.</summary>
    public Task Completion => _completion.Task;

    /// <summary>The last messages of the transcript under the protocol's heading, for exception messages.</summary>
    public string TailText() => _protocol.TailHeading + "\n" + _transcript.Tail(TailMessages);

    /// <summary>The owner's diagnosis, if any, and the transcript's tail: for timeouts.</summary>
    public string StallText() => _protocol.StallDiagnosis() is { Length: > 0 } diagnosis ? diagnosis + "\n" + TailText() : TailText();

    /// <summary>Throws the protocol's connection exception, naming <paramref name="command"/>, once the channel has ended.</summary>
    public void ThrowIfClosed(string command)
    {
        if (IsClosed)
        {
            throw _protocol.ConnectionError(
                $"{_protocol.Label}: cannot send '{command}': the {_protocol.Noun} is closed ({_terminationReason}).", _terminationError, command);
        }
    }

    /// <summary>
    /// One receive into <paramref name="free"/>: straight from the socket when there is one (no stream or pipe layers in
    /// between), else from the stream. Failures come back in the task, never thrown here.
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> free)
    {
        try
        {
            return _socket is { } socket ? socket.ReceiveAsync(free, SocketFlags.None) : _stream.ReadAsync(free, _readCancel.Token);
        }
#pragma warning disable CA1031 // Handed to the loop, which decides what a failure means.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    /// <summary>Tells <see cref="CloseAsync"/> to wait for the read loop, which must then end with <see cref="EndReadLoop"/>.</summary>
    public void ReadLoopStarted() => _readLoopStarted = true;

    /// <summary>Throws the protocol's connection exception when <paramref name="unterminatedBytes"/> reached <see cref="MaxMessageBytes"/>.</summary>
    public void CheckMessageSize(int unterminatedBytes)
    {
        if (unterminatedBytes > MaxMessageBytes)
        {
            throw _protocol.ConnectionError($"{_protocol.Label}: a message exceeded {MaxMessageBytes} bytes without a newline.", null);
        }
    }

    /// <summary>
    /// What a read loop ends with when <paramref name="exception"/> broke it: a transport failure or the protocol's own
    /// error as is, anything else wrapped, since whatever breaks the loop must still fail the waiters.
    /// </summary>
    public Exception ReadLoopFailure(Exception exception) =>
        exception is IOException or SocketException or ObjectDisposedException or OperationCanceledException || _protocol.IsConnectionError(exception)
            ? exception
            : _protocol.ConnectionError($"{_protocol.Label}: the read loop failed: {exception.Message}", exception);

    /// <summary>Ends the channel from the read loop (<paramref name="failure"/> null and <paramref name="endOfFile"/> for a clean end of file).</summary>
    public void EndReadLoop(Exception? failure, bool endOfFile)
    {
        Terminate(failure, endOfFile);
        _readLoopDone.TrySetResult();
    }

    /// <summary>Ends the channel: pending calls fail with the connection error; the stream is disposed. Idempotent.</summary>
    public Task CloseAsync() => _close.Value;

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

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

        // Writers that come after this see the channel closed before touching the JSON writer.
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
