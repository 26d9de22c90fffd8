using System.Net.Sockets;
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
    private const string QuitCommand = "quit";

    private readonly JsonLinesChannel _channel;
    private byte[] _readBuffer = new byte[InitialReadBufferBytes];
    private int _readStart;
    private int _readEnd;
    private int _readScanned;
    private readonly QmpClientOptions _options;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly TaskCompletionSource<QmpGreeting> _greeting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _eventLock = new();
    private readonly List<QmpEvent> _events = [];
    private readonly List<EventWaiter> _waiters = [];
    private readonly List<EventListener> _listeners = [];
    private long _nextId;
    private volatile bool _quitIssued;
    private volatile bool _sendIds;
    private List<Delivery>? _batch;

    private QmpClient(Stream stream, Socket? socket, QmpClientOptions options)
    {
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _name = options.Name ?? "qmp";
        Transcript = new QmpTranscript(options.TranscriptMaxBytes);
        _channel = new JsonLinesChannel(stream, socket, new Protocol(this), Transcript, options.ConvertKeys);
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
    public Task Completion => _channel.Completion;

    /// <summary>Whether the connection has ended (for any reason).</summary>
    public bool IsClosed => _channel.IsClosed;

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

    /// <summary>Closes the connection; pending commands fail with <see cref="QmpConnectionException"/>. Idempotent.</summary>
    public Task CloseAsync() => _channel.CloseAsync();

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    /// <summary>The last messages of the transcript, for exception messages.</summary>
    internal string TailText() => _channel.TailText();

    /// <summary>The owner's diagnosis (<see cref="QmpClientOptions.StallDiagnosis"/>, e.g. QEMU's process state) and the transcript tail, for timeouts only.</summary>
    internal string StallText() => _channel.StallText();

    /// <summary>The caller's token, or the ambient one (the current test's) when the caller's cannot cancel.</summary>
    private CancellationToken OrAmbient(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled || _options.AmbientCancellation is not { } ambient ? cancellationToken : ambient();
}
