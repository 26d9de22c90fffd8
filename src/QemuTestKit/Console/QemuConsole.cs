using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// A QEMU serial console (the <c>console_socket</c> of QEMU's Python QEMUMachine, drained). A background loop reads
/// everything the guest prints into a bounded in-memory window (<see cref="Text"/>) and, whole, into
/// <see cref="QemuConsoleOptions.LogPath"/>; waits are completed by that loop the moment the bytes arrive, never by polling.
/// </summary>
/// <remarks>
/// Waits are expect-style: each starts at a read cursor (the end of the last match a wait consumed, initially the
/// start of the output), so a pattern printed before the wait began is still found once. After the console closes,
/// waits still search what was received, then fail with <see cref="QemuConsoleException"/>. Each received character is
/// examined a bounded number of times: a pending wait scans only new text plus a short look-back
/// (<see cref="MatchLookBack"/> characters) for matches split across reads, and failure patterns are scanned once per read
/// for all waits.
/// </remarks>
public sealed partial class QemuConsole : IAsyncDisposable
{
    /// <summary>
    /// How far before newly received text a pending wait looks again, so a match split across two reads is found. A match
    /// that starts more than this many characters before the split is not (a longer match is found when it arrives whole).
    /// </summary>
    public const int MatchLookBack = 4096;

    private const int TailLines = 40;

    // The tail only needs the last lines; cleaning the whole window for every message would cost up to its size each time.
    private const int TailChars = 16 * 1024;

    private readonly Stream _stream;
    private readonly FileStream? _log;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly ConsoleWindow _window;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _readLoop;
    private long _cursor;
    private bool _closed;
    private string? _closeReason;
    private int _disposed;

    private readonly Func<CancellationToken>? _ambientCancellation;

    private QemuConsole(Stream stream, QemuConsoleOptions? options)
    {
        _stream = stream;
        _logger = options?.Logger ?? NullLogger.Instance;
        _ambientCancellation = options?.AmbientCancellation;
        _window = new ConsoleWindow(options?.MaxTextLength ?? QemuConsoleOptions.DefaultMaxTextLength);
        LogPath = options?.LogPath;
        if (LogPath is not null)
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(LogPath));
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }

            _log = new FileStream(LogPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: false);
        }

        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>
    /// The most recent output, raw (escape sequences and CR included): the last <see cref="QemuConsoleOptions.MaxTextLength"/>
    /// characters, since older text is dropped from memory (the log file keeps everything). A copy: read it when needed,
    /// not in a loop.
    /// </summary>
    public string Text
    {
        get
        {
            lock (_gate)
            {
                return new string(_window.From(0));
            }
        }
    }

    /// <summary>The console log file, if one was requested.</summary>
    public string? LogPath { get; private set; }

    /// <summary>The log file was renamed to <paramref name="path"/> (a warm-start spare handed over): the same open file, so nothing is lost.</summary>
    internal void LogMovedTo(string path) => LogPath = path;

    /// <summary>
    /// The shell prompt. <see cref="RunAsync"/> and <see cref="ExecAsync"/> frame commands with markers and do not wait for
    /// it; it is for callers that wait for the shell (such as a boot or a restore). The default matches a line ending in
    /// <c>#</c>, <c>$</c> or <c>&gt;</c> and a space at the end of the output so far (or before an escape sequence), such as
    /// <c>qtk# </c>.
    /// </summary>
    public Regex Prompt { get; set; } = DefaultPrompt();

    /// <summary>Patterns that end every wait at once with <see cref="QemuConsoleException"/> (for example <c>Kernel panic</c>).</summary>
    public IReadOnlyList<Regex> FailurePatterns { get; set; } = [];

    /// <summary>The timeout of a wait given none (60 s). <see cref="Timeout.InfiniteTimeSpan"/> waits forever.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether the connection is still open (QEMU has not closed it and the console is not disposed).</summary>
    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return !_closed;
            }
        }
    }

    /// <summary>Completes when the read loop has ended (QEMU closed the console, or it was disposed).</summary>
    public Task Completion => _readLoop;

    /// <summary>
    /// Says why the guest may have stopped printing (for example "QEMU (pid 123) is stopped (state T)"), or null when
    /// nothing is known; its text is appended to every wait's <see cref="TimeoutException"/>. The machine sets it.
    /// </summary>
    internal Func<string?>? StallDiagnosis { get; set; }

    /// <summary>Connects to a console QEMU serves on a unix socket (<c>-chardev socket,path=…,server=on</c>).</summary>
    /// <exception cref="SocketException">Nothing listens on <paramref name="unixSocketPath"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="QemuConsoleOptions.MaxTextLength"/> is below its minimum.</exception>
    public static async Task<QemuConsole> ConnectAsync(string unixSocketPath, QemuConsoleOptions? options = null, CancellationToken cancellationToken = default)
    {
        options?.Validate();
        Socket socket = await SocketConnect.UnixAsync(unixSocketPath, cancellationToken).ConfigureAwait(false);
        return new QemuConsole(new NetworkStream(socket, ownsSocket: true), options);
    }

    /// <summary>Connects to a console QEMU serves on TCP (<c>-chardev socket,host=…,port=…,server=on</c>).</summary>
    /// <exception cref="SocketException">Nothing listens on <paramref name="host"/>:<paramref name="port"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="QemuConsoleOptions.MaxTextLength"/> is below its minimum.</exception>
    public static async Task<QemuConsole> ConnectAsync(string host, int port, QemuConsoleOptions? options = null, CancellationToken cancellationToken = default)
    {
        options?.Validate();
        Socket socket = await SocketConnect.TcpAsync(host, port, cancellationToken).ConfigureAwait(false);
        return new QemuConsole(new NetworkStream(socket, ownsSocket: true), options);
    }

    /// <summary>Wraps any bidirectional stream (for tests); the console owns and disposes it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="QemuConsoleOptions.MaxTextLength"/> is below its minimum.</exception>
    public static QemuConsole Create(Stream stream, QemuConsoleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options?.Validate();
        return new QemuConsole(stream, options);
    }

    /// <summary>The caller's token, or the ambient one (the current test's) when the caller's cannot cancel.</summary>
    private CancellationToken OrAmbient(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled || _ambientCancellation is not { } ambient ? cancellationToken : ambient();

    /// <summary>Sends <paramref name="text"/> as is (UTF-8).</summary>
    /// <exception cref="QemuConsoleException">The console is closed.</exception>
    /// <exception cref="ObjectDisposedException">The console was disposed.</exception>
    public Task SendAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendBytesAsync(Encoding.UTF8.GetBytes(text), OrAmbient(cancellationToken));
    }

    /// <summary>Sends bytes as they are: binary file transfers to a guest whose terminal is in raw mode.</summary>
    /// <exception cref="QemuConsoleException">The console is closed.</exception>
    internal async Task SendBytesAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new QemuConsoleException("Cannot write to the console: the connection is closed.", Tail(), ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends <paramref name="line"/> followed by a newline.</summary>
    /// <exception cref="QemuConsoleException">The console is closed.</exception>
    /// <exception cref="ObjectDisposedException">The console was disposed.</exception>
    public Task SendLineAsync(string line, CancellationToken cancellationToken = default) => SendAsync(line + "\n", cancellationToken);

    /// <summary>
    /// The last <paramref name="lines"/> lines of output, cleaned for messages: escape sequences removed and no control
    /// characters other than newline and tab, so the text is safe in XML reports and terminals.
    /// </summary>
    public string Tail(int lines = TailLines)
    {
        lock (_gate)
        {
            return TailUnlocked(lines);
        }
    }

    /// <summary>Closes the connection, ends the read loop and closes the log file (which is kept). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        _writeLock.Dispose();
    }

    /// <summary>Waits (bounded) for the read loop to see QEMU close the socket, so output printed just before exit is kept.</summary>
    internal async Task DrainAsync(TimeSpan timeout)
    {
        try
        {
            await _readLoop.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>
    /// A timeout that carries the evidence: what was awaited, for how long, the machine's stall diagnosis (if any) and the
    /// console tail. The one place every console timeout message is built.
    /// </summary>
    private TimeoutException TimedOut(string what, TimeSpan limit)
    {
        string diagnosis;
        try
        {
            diagnosis = StallDiagnosis?.Invoke() is { Length: > 0 } text ? "\n" + ConsoleText.Visible(text) : "";
        }
#pragma warning disable CA1031 // A broken diagnosis must not hide the timeout it was meant to explain.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            diagnosis = $"\n(the stall diagnosis failed: {ConsoleText.Visible(ex.Message)})";
        }

        return new TimeoutException($"{what} within {limit.TotalSeconds:0.###} s.{diagnosis}\nconsole (last lines):\n{Tail()}");
    }

    private string TailUnlocked(int lines = TailLines)
    {
        ReadOnlySpan<char> recent = _window.From(_window.End - TailChars);
        return CommandLineText.Tail(ConsoleText.Clean(new string(recent)), lines);
    }

    [GeneratedRegex(@"[^\r\n]*[#$>] (?=\z|\x1B)")]
    private static partial Regex DefaultPrompt();
}
