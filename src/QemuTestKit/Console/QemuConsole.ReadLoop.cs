using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>The read loop: bytes from QEMU to the log file, the bounded window, and the pending waits.</summary>
public sealed partial class QemuConsole
{
    private const int ReadSize = 64 * 1024;

    private async Task ReadLoopAsync()
    {
        byte[] bytes = new byte[ReadSize];
        Decoder decoder = Encoding.UTF8.GetDecoder();
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
                Receive(decoder, bytes.AsSpan(0, n));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            reason = Volatile.Read(ref _disposed) != 0 ? "disposed" : ex.Message;
        }
        finally
        {
            MachineLog.ConsoleClosed(_logger, reason);
            lock (_gate)
            {
                _closed = true;
                _closeReason = reason;
                FailAllUnlocked(reason);
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
            // The log stream is unbuffered: each read is one write(2) into the page cache, so the whole log is on disk even
            // if this process dies. A Flush() here was measured (strace) to make no system call: there is nothing to flush.
            _log.Write(data);
        }
        catch (IOException ex)
        {
            MachineLog.ConsoleLogFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/> straight into the window and lets the pending waits look at the new text: the
    /// patterns that are not literal always, the literal ones only if the literal filter finds one of their texts in it.
    /// One lock for the whole read: a wait that registers in between sees either none of it (and then the filter includes
    /// it) or all of it in its first look.
    /// </summary>
    // Compiled optimized at first use, not through the JIT's tiers: profiled under a flood, the tiered-PGO instrumented
    // versions of the per-read path (the filter's byte searches) stayed in use for whole runs of the benchmark, ~4% of all
    // samples in the runtime's profiling helpers, which this removes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Receive(Decoder decoder, ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            bool literalHit = _waiters.Count > 0 && LiteralsMayMatchUnlocked(bytes);
            bool scan = literalHit || (_waiters.Count > 0 && _nonLiteralPending);
            _literals.Remember(bytes);

            // A read can decode to more than a small window holds: hand it over in window-sized pieces so every character
            // is scanned before it can be dropped.
            while (!bytes.IsEmpty)
            {
                long previousEnd = _window.End;
                Span<char> room = _window.Reserve(Math.Min(_window.MaxLength, bytes.Length + 1));
                decoder.Convert(bytes, room, flush: false, out int bytesUsed, out int charsWritten, out _);
                _window.Commit(charsWritten);
                bytes = bytes[bytesUsed..];
                if (scan)
                {
                    ScanUnlocked(previousEnd, literalHit);
                }
            }
        }
    }
}
