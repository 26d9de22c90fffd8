using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace QemuTestKit;

/// <summary>
/// A QEMU serial console (the seed's <c>console_socket</c>, drained). A background loop reads everything the guest
/// prints into <see cref="Text"/> (and <see cref="QemuConsoleOptions.LogPath"/>); waits are completed by that loop the
/// moment the bytes arrive, never by polling.
/// </summary>
/// <remarks>
/// Waits are expect-style: each starts at a read cursor (the end of the last match a wait consumed, initially the
/// start of the output), so a pattern printed before the wait began is still found once. After the console closes,
/// waits still search what was received, then fail with <see cref="QemuConsoleException"/>.
/// </remarks>
public sealed partial class QemuConsole : IAsyncDisposable
{
    private const int TailLines = 40;

    private readonly Stream _stream;
    private readonly FileStream? _log;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly List<Waiter> _waiters = [];
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _readLoop;
    private char[] _buffer = new char[16 * 1024];
    private int _length;
    private int _cursor;
    private bool _closed;
    private string? _closeReason;
    private int _disposed;

    private QemuConsole(Stream stream, QemuConsoleOptions? options)
    {
        _stream = stream;
        _logger = options?.Logger ?? NullLogger.Instance;
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

    /// <summary>Everything received so far, raw (escape sequences and CR included).</summary>
    public string Text
    {
        get
        {
            lock (_gate)
            {
                return new string(_buffer, 0, _length);
            }
        }
    }

    /// <summary>The console log file, if one was requested.</summary>
    public string? LogPath { get; }

    /// <summary>
    /// The shell prompt <see cref="RunAsync"/> and <see cref="ExecAsync"/> wait for. The default matches a line ending in <c>#</c>, <c>$</c>
    /// or <c>&gt;</c> and a space at the end of the output so far (or before an escape sequence), such as <c>qtk# </c>.
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

    /// <summary>Connects to a console QEMU serves on a unix socket (<c>-chardev socket,path=…,server=on</c>).</summary>
    /// <exception cref="SocketException">Nothing listens on <paramref name="unixSocketPath"/>.</exception>
    public static async Task<QemuConsole> ConnectAsync(string unixSocketPath, QemuConsoleOptions? options = null, CancellationToken cancellationToken = default)
    {
        Socket socket = await SocketConnect.UnixAsync(unixSocketPath, cancellationToken).ConfigureAwait(false);
        return new QemuConsole(new NetworkStream(socket, ownsSocket: true), options);
    }

    /// <summary>Connects to a console QEMU serves on TCP (<c>-chardev socket,host=…,port=…,server=on</c>).</summary>
    /// <exception cref="SocketException">Nothing listens on <paramref name="host"/>:<paramref name="port"/>.</exception>
    public static async Task<QemuConsole> ConnectAsync(string host, int port, QemuConsoleOptions? options = null, CancellationToken cancellationToken = default)
    {
        Socket socket = await SocketConnect.TcpAsync(host, port, cancellationToken).ConfigureAwait(false);
        return new QemuConsole(new NetworkStream(socket, ownsSocket: true), options);
    }

    /// <summary>Wraps any bidirectional stream (for tests); the console owns and disposes it.</summary>
    public static QemuConsole Create(Stream stream, QemuConsoleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new QemuConsole(stream, options);
    }

    /// <summary>Waits until <paramref name="text"/> (literal text, not a regular expression) appears.</summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed first.</exception>
    /// <exception cref="TimeoutException">Nothing matched within <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ConsoleMatch> WaitForAsync(string text, IEnumerable<string>? failurePatterns = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return WaitForAsync(Literal(text), failurePatterns?.Select(Literal), timeout, cancellationToken);
    }

    /// <summary>Waits until <paramref name="pattern"/> matches the output after the read cursor, and moves the cursor past the match.</summary>
    /// <exception cref="QemuConsoleException">A failure pattern (given here or in <see cref="FailurePatterns"/>) appeared first, or the console closed first.</exception>
    /// <exception cref="TimeoutException">Nothing matched within <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ConsoleMatch> WaitForAsync(Regex pattern, IEnumerable<Regex>? failurePatterns = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return WaitCoreAsync(pattern, failurePatterns, from: null, timeout, cancellationToken);
    }

    /// <summary>Sends <paramref name="text"/> as is (UTF-8).</summary>
    /// <exception cref="QemuConsoleException">The console is closed.</exception>
    public Task SendAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendBytesAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
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
    public Task SendLineAsync(string line, CancellationToken cancellationToken = default) => SendAsync(line + "\n", cancellationToken);

    /// <summary>
    /// Sends <paramref name="command"/> as a line, waits for the echoed line and then the <see cref="Prompt"/>, and returns
    /// what was printed in between (escape sequences removed, LF line ends, the final line break trimmed). Call it when the
    /// shell is at its prompt; for the exit status, or output that must not be confused with the echo, use <see cref="ExecAsync"/>.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed.</exception>
    /// <exception cref="TimeoutException">The prompt did not come back within <paramref name="timeout"/>.</exception>
    public async Task<string> RunAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        using CancellationTokenSource deadline = Deadline(timeout, cancellationToken);
        int start = MarkEnd();
        await SendLineAsync(command, cancellationToken).ConfigureAwait(false);
        try
        {
            ConsoleMatch echo = await WaitCoreAsync(LineEnd(), null, start, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            int outputStart = echo.Index + echo.Match.Length;
            ConsoleMatch prompt = await WaitCoreAsync(Prompt, null, outputStart, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            return TrimFinalNewline(ConsoleText.Clean(prompt.Before));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut($"RunAsync(\"{command}\"): the prompt {Prompt} did not come back", timeout);
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the guest's shell and returns its exit status and output. Unique markers printed
    /// before and after the command frame the output, so neither the echoed command line nor the prompt can be mistaken
    /// for it. The command runs on one line: a trailing comment (<c>#</c>) would swallow the closing marker.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed.</exception>
    /// <exception cref="TimeoutException">The command did not finish within <paramref name="timeout"/>.</exception>
    public async Task<ConsoleExecResult> ExecAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        using CancellationTokenSource deadline = Deadline(timeout, cancellationToken);
        string id = Guid.NewGuid().ToString("N")[..16];

        // The quotes split each marker in the echoed command line, so only the shell's output contains it whole.
        string separator = command.TrimEnd().EndsWith('&') && !command.TrimEnd().EndsWith("&&", StringComparison.Ordinal) ? " " : "; ";
        string line = $"echo \"__QTK_\"\"{id}_B\"; {command}{separator}echo \"__QTK_\"\"{id}_E$?\"";
        int start = MarkEnd();
        await SendLineAsync(line, cancellationToken).ConfigureAwait(false);
        try
        {
            ConsoleMatch begin = await WaitCoreAsync(new Regex($"__QTK_{id}_B\\r?\\n", RegexOptions.CultureInvariant), null, start, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            ConsoleMatch end = await WaitCoreAsync(new Regex($"__QTK_{id}_E(\\d+)\\r?\\n", RegexOptions.CultureInvariant), null, begin.Index + begin.Match.Length, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            await WaitCoreAsync(Prompt, null, end.Index + end.Match.Length, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            int status = int.Parse(end.Match.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
            return new ConsoleExecResult(status, TrimFinalNewline(ConsoleText.Clean(end.Before)));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut($"ExecAsync(\"{command}\") did not finish", timeout);
        }
    }

    /// <summary>
    /// Sends <paramref name="keys"/> every <paramref name="interval"/> (default 0.5 s) until <paramref name="pattern"/>
    /// appears: for boot loaders that wait for a key press.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed.</exception>
    /// <exception cref="TimeoutException"><paramref name="pattern"/> did not appear within <paramref name="timeout"/>.</exception>
    public async Task<ConsoleMatch> InterruptUntilAsync(Regex pattern, string keys, TimeSpan? interval = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(keys);
        using CancellationTokenSource deadline = Deadline(timeout, cancellationToken);
        TimeSpan every = interval ?? TimeSpan.FromMilliseconds(500);
        Task<ConsoleMatch> found = WaitCoreAsync(pattern, null, from: null, Timeout.InfiniteTimeSpan, deadline.Token);
        try
        {
            while (!found.IsCompleted)
            {
                await SendAsync(keys, deadline.Token).ConfigureAwait(false);
                await Task.WhenAny(found, Task.Delay(every, deadline.Token)).ConfigureAwait(false);
            }

            return await found.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut($"InterruptUntilAsync: {pattern} did not appear", timeout);
        }
    }

    /// <inheritdoc cref="InterruptUntilAsync(Regex, string, TimeSpan?, TimeSpan?, CancellationToken)"/>
    public Task<ConsoleMatch> InterruptUntilAsync(string text, string keys, TimeSpan? interval = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return InterruptUntilAsync(Literal(text), keys, interval, timeout, cancellationToken);
    }

    /// <summary>The last <paramref name="lines"/> lines of output, cleaned of escape sequences (for messages).</summary>
    public string Tail(int lines = TailLines) => CommandLineText.Tail(ConsoleText.Clean(Text), lines);

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

    private static Regex Literal(string text) => new(Regex.Escape(text), RegexOptions.CultureInvariant);

    private static string TrimFinalNewline(string text) => text.EndsWith('\n') ? text[..^1] : text;

    private CancellationTokenSource Deadline(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        TimeSpan limit = timeout ?? DefaultTimeout;
        if (limit != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(limit);
        }

        return cts;
    }

    private TimeoutException TimedOut(string what, TimeSpan? timeout) =>
        new($"{what} within {(timeout ?? DefaultTimeout).TotalSeconds:0.###} s.\nconsole (last lines):\n{Tail()}");

    /// <summary>Moves the cursor to the end of the output and returns it: a command's output starts after what came before it.</summary>
    private int MarkEnd()
    {
        lock (_gate)
        {
            _cursor = _length;
            return _length;
        }
    }

    private async Task<ConsoleMatch> WaitCoreAsync(Regex pattern, IEnumerable<Regex>? failurePatterns, int? from, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        Regex[] failures = [.. FailurePatterns, .. failurePatterns ?? []];
        var waiter = new Waiter(pattern, failures);
        lock (_gate)
        {
            waiter.From = from ?? _cursor;
            if (!TryComplete(waiter))
            {
                if (_closed)
                {
                    waiter.Fail(new QemuConsoleException($"The console closed ({_closeReason}) before {pattern} appeared.", TailUnlocked()));
                }
                else
                {
                    _waiters.Add(waiter);
                }
            }
        }

        TimeSpan limit = timeout ?? DefaultTimeout;
        try
        {
            return await (limit == Timeout.InfiniteTimeSpan
                ? waiter.Task.WaitAsync(cancellationToken)
                : waiter.Task.WaitAsync(limit, cancellationToken)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Remove(waiter);
            throw new TimeoutException($"{pattern} did not appear on the console within {limit.TotalSeconds:0.###} s.\nconsole (last lines):\n{Tail()}");
        }
        catch (OperationCanceledException)
        {
            Remove(waiter);
            throw;
        }
    }

    private void Remove(Waiter waiter)
    {
        lock (_gate)
        {
            _waiters.Remove(waiter);
        }
    }

    /// <summary>Completes <paramref name="waiter"/> if its pattern or a failure pattern matches; call under the lock.</summary>
    private bool TryComplete(Waiter waiter)
    {
        ReadOnlySpan<char> span = _buffer.AsSpan(waiter.From, _length - waiter.From);
        int found = FirstIndex(waiter.Pattern, span);
        int failedAt = -1;
        Regex? failure = null;
        foreach (Regex candidate in waiter.Failures)
        {
            int at = FirstIndex(candidate, span);
            if (at >= 0 && (failedAt < 0 || at < failedAt))
            {
                failedAt = at;
                failure = candidate;
            }
        }

        if (failure is not null && (found < 0 || failedAt <= found))
        {
            waiter.Fail(new QemuConsoleException($"Failure pattern {failure} appeared on the console while waiting for {waiter.Pattern}.", TailUnlocked()));
            return true;
        }

        if (found < 0)
        {
            return false;
        }

        // Re-run once on a string for the groups; the scans above stayed allocation-free.
        string rest = new(span);
        Match match = waiter.Pattern.Match(rest, found);

        int absolute = waiter.From + match.Index;
        _cursor = Math.Max(_cursor, absolute + match.Length);
        waiter.Succeed(new ConsoleMatch(match, absolute, rest[..match.Index]));
        return true;
    }

    private static int FirstIndex(Regex regex, ReadOnlySpan<char> span)
    {
        foreach (ValueMatch m in regex.EnumerateMatches(span))
        {
            return m.Index;
        }

        return -1;
    }

    private string TailUnlocked() => CommandLineText.Tail(ConsoleText.Clean(new string(_buffer, 0, _length)), TailLines);

    private async Task ReadLoopAsync()
    {
        byte[] bytes = new byte[64 * 1024];
        char[] chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        string reason = "QEMU closed it";
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(bytes, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                WriteLog(bytes.AsSpan(0, n));
                int count = _decoder.GetChars(bytes, 0, n, chars, 0, flush: false);
                Append(chars.AsSpan(0, count));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            reason = Volatile.Read(ref _disposed) != 0 ? "disposed" : ex.Message;
        }
        finally
        {
            MachineLog.ConsoleClosed(_logger, reason);
            List<Waiter> pending;
            lock (_gate)
            {
                _closed = true;
                _closeReason = reason;
                pending = [.. _waiters];
                _waiters.Clear();
                foreach (Waiter waiter in pending)
                {
                    waiter.Fail(new QemuConsoleException($"The console closed ({reason}) before {waiter.Pattern} appeared.", TailUnlocked()));
                }
            }
        }
    }

    private void WriteLog(ReadOnlySpan<byte> data)
    {
        if (_log is null)
        {
            return;
        }

        try
        {
            _log.Write(data);
            _log.Flush();
        }
        catch (IOException ex)
        {
            MachineLog.ConsoleLogFailed(_logger, ex.Message);
        }
    }

    private void Append(ReadOnlySpan<char> chunk)
    {
        lock (_gate)
        {
            if (_length + chunk.Length > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + chunk.Length));
            }

            chunk.CopyTo(_buffer.AsSpan(_length));
            _length += chunk.Length;
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                // Completion runs continuations asynchronously, so user code never runs under this lock.
                if (TryComplete(_waiters[i]))
                {
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private static Regex LineEnd() => LineEndRegex();

    [GeneratedRegex(@"\n")]
    private static partial Regex LineEndRegex();

    [GeneratedRegex(@"[^\r\n]*[#$>] (?=\z|\x1B)")]
    private static partial Regex DefaultPrompt();

    private sealed class Waiter(Regex pattern, Regex[] failures)
    {
        private readonly TaskCompletionSource<ConsoleMatch> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Regex Pattern { get; } = pattern;

        public Regex[] Failures { get; } = failures;

        public int From { get; set; }

        public Task<ConsoleMatch> Task => _done.Task;

        public void Succeed(ConsoleMatch match) => _done.TrySetResult(match);

        public void Fail(Exception exception) => _done.TrySetException(exception);
    }
}
