using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;

namespace QemuTestKit.Qga;

// The one sequential read loop: splits the channel on newlines and 0xFF markers, matches replies by id.
public sealed partial class QgaClient
{
    private const int MaxMessageBytes = 64 * 1024 * 1024;
    private const int InitialReadBufferBytes = 16 * 1024;
    private const int MinReadBytes = 4 * 1024;

    private async Task ReadLoopAsync()
    {
        byte[] buffer = new byte[InitialReadBufferBytes];
        int start = 0, end = 0, scanned = 0;
        bool afterMarker = false;
        Exception? failure = null;
        bool endOfFile = false;
        try
        {
            while (true)
            {
                ReadBuffer.MakeRoom(ref buffer, ref start, ref end, ref scanned, MinReadBytes);
                int received = await _stream.ReadAsync(buffer.AsMemory(end), _readCancel.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    endOfFile = true;
                    if (end > start)
                    {
                        Stale(buffer.AsSpan(start, end - start), "the channel ended in the middle of a message");
                    }

                    break;
                }

                end += received;
                while (true)
                {
                    // 0xFF never occurs in UTF-8 JSON: the agent writes it only right before a sync reply.
                    int found = buffer.AsSpan(scanned, end - scanned).IndexOfAny((byte)'\n', Marker);
                    if (found < 0)
                    {
                        scanned = end;
                        break;
                    }

                    found += scanned;
                    if (buffer[found] == Marker)
                    {
                        // Whatever came before the marker on this line is the tail of something older.
                        Stale(buffer.AsSpan(start, found - start), "before a 0xFF marker");
                        afterMarker = true;
                    }
                    else if (ProcessLine(buffer.AsSpan(start, found - start), afterMarker))
                    {
                        afterMarker = false;
                    }

                    start = scanned = found + 1;
                }

                if (end - start > MaxMessageBytes)
                {
                    throw new QgaConnectionException($"Guest agent {_name}: a message exceeded {MaxMessageBytes} bytes without a newline.");
                }

                if (start == end)
                {
                    start = end = scanned = 0;
                    if (buffer.Length > 4 * InitialReadBufferBytes)
                    {
                        buffer = new byte[InitialReadBufferBytes]; // do not keep a file block's buffer for 20-byte replies
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or QgaConnectionException)
        {
            failure = ex;
        }
#pragma warning disable CA1031 // Whatever breaks the loop must still fault the waiters, or they hang forever.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = new QgaConnectionException($"Guest agent {_name}: the read loop failed: {ex.Message}", ex);
        }

        Terminate(failure, endOfFile);
        _readLoopDone.TrySetResult();
    }

    /// <summary>Routes one line; returns whether it held a message (whitespace-only lines do not count).</summary>
    private bool ProcessLine(ReadOnlySpan<byte> line, bool afterMarker)
    {
        if (line.Trim(" \t\r\n"u8).IsEmpty)
        {
            return false;
        }

        JsonElement message;
        try
        {
            var reader = new Utf8JsonReader(line);
            message = JsonElement.ParseValue(ref reader);
            if (reader.Read())
            {
                throw new JsonException("Data after the JSON value.");
            }
        }
        catch (JsonException)
        {
            // Not fatal, unlike QMP: after a guest reboot or an agent restart the channel may hold a torn message.
            // A command it answered times out; the caller resynchronises.
            Stale(line, "not JSON");
            return true;
        }

        Transcript.AddReceived(message);
        QgaLog.Received(_logger, _name, message);
        if (message.ValueKind != JsonValueKind.Object)
        {
            QgaLog.StaleMessage(_logger, _name, "not a JSON object", message);
            return true;
        }

        if (message.TryGetProperty("id", out JsonElement idElement))
        {
            if (idElement.TryGetInt64(out long id) && _pending.TryRemove(id, out QgaPendingCall? call))
            {
                call.TrySetResult(message);
            }
            else
            {
                QgaLog.StaleMessage(_logger, _name, "a reply nobody waits for (late, after a timeout or cancel)", message);
            }

            return true;
        }

        if (afterMarker && message.TryGetProperty("return", out JsonElement value) && value.TryGetInt64(out long syncId))
        {
            lock (_syncLock)
            {
                if (_sync is { } sync && sync.Ids.Contains(syncId))
                {
                    sync.TrySetResult();
                    return true;
                }
            }
        }

        // Replies without an id: the agent's complaint about the 0xFF we send to flush its parser, sync replies of
        // earlier attempts or connections.
        QgaLog.StaleMessage(_logger, _name, "no id of ours", message);
        return true;
    }

    private void Stale(ReadOnlySpan<byte> bytes, string why)
    {
        if (bytes.Trim(" \t\r\n"u8).IsEmpty)
        {
            return;
        }

        const int Max = 200;
        string text = Encoding.UTF8.GetString(bytes.Length > Max ? bytes[..Max] : bytes) + (bytes.Length > Max ? "…" : "");
        Transcript.Add(QmpMessageDirection.Received, Encoding.UTF8.GetBytes($"(stale, {why}: {text})"));
        QgaLog.Stale(_logger, _name, why, text);
    }

    /// <summary>Ends the channel once: fails (or, when expected, just completes) everything that waits on it.</summary>
    private void Terminate(Exception? failure, bool endOfFile)
    {
        if (Interlocked.Exchange(ref _terminated, 1) != 0)
        {
            return;
        }

        string? noReply = _noReplyCommandSent;
        bool lostAfterNoReply = noReply is not null && failure is null or IOException or SocketException;
        bool expected = _closing || lostAfterNoReply;
        string reason = _closing ? "closed by the client"
            : lostAfterNoReply ? $"closed by the agent after '{noReply}'"
            : failure is QgaConnectionException qce ? qce.Message
            : failure is not null ? $"{failure.GetType().Name}: {failure.Message}"
            : endOfFile ? "closed by the other end (end of file)" : "ended";
        _terminationReason = reason;

        string tail = TailText();
        QgaConnectionException? error = expected ? null : new QgaConnectionException($"Guest agent {_name}: connection lost: {reason}. {tail}", failure);
        _terminationError = error;
        if (error is null)
        {
            QgaLog.ClosedExpected(_logger, _name);
        }
        else
        {
            QgaLog.ClosedUnexpected(_logger, _name, error);
        }

        // _terminated is set: writers that come now throw, so the table cannot gain an entry nobody fails.
        foreach (long key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out QgaPendingCall? call))
            {
                call.TrySetException(new QgaConnectionException(
                    $"Guest agent {_name}: no reply to '{call.Command}' (#{call.Id.ToString(CultureInfo.InvariantCulture)}): connection {reason}. {tail}", failure)
                {
                    PendingCommand = call.Command,
                });
            }
        }

        lock (_syncLock)
        {
            _sync?.TrySetException(new QgaConnectionException($"Guest agent {_name}: no answer to {SyncCommand}: connection {reason}. {tail}", failure)
            {
                PendingCommand = SyncCommand,
            });
        }

        if (error is null)
        {
            _completion.TrySetResult();
        }
        else
        {
            _completion.TrySetException(error);
        }
    }
}
