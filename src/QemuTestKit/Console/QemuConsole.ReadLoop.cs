using System.Net.Sockets;
using System.Text;

namespace QemuTestKit;

/// <summary>The read loop: bytes from QEMU to the log file, the bounded window, and the pending waits.</summary>
public sealed partial class QemuConsole
{
    private const int ReadSize = 64 * 1024;

    private async Task ReadLoopAsync()
    {
        byte[] bytes = new byte[ReadSize];
        Decoder decoder = Encoding.UTF8.GetDecoder();
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
                int count = decoder.GetChars(bytes, 0, n, chars, 0, flush: false);
                Receive(chars.AsSpan(0, count));
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
            _log.Write(data);
            _log.Flush();
        }
        catch (IOException ex)
        {
            MachineLog.ConsoleLogFailed(_logger, ex.Message);
        }
    }

    /// <summary>Adds decoded text to the window and lets the pending waits look at it.</summary>
    private void Receive(ReadOnlySpan<char> chunk)
    {
        // A read can be longer than a small window: hand it over in window-sized pieces so every character is scanned
        // before it can be dropped.
        while (!chunk.IsEmpty)
        {
            ReadOnlySpan<char> piece = chunk[..Math.Min(chunk.Length, _window.MaxLength)];
            chunk = chunk[piece.Length..];
            lock (_gate)
            {
                long previousEnd = _window.End;
                _window.Append(piece);
                ScanUnlocked(previousEnd);
            }
        }
    }
}
