using System.Buffers;
using System.Text;
using System.Text.Json;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;

namespace QemuTestKit.Qga;

// The one sequential read loop: splits the channel on newlines and 0xFF markers, matches replies by id.
public sealed partial class QgaClient
{
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
                int received = await _channel.ReceiveAsync(buffer.AsMemory(end)).ConfigureAwait(false);
                if (received == 0)
                {
                    endOfFile = true;
                    Stale(new ReadOnlySequence<byte>(buffer, start, end - start), "the channel ended in the middle of a message");
                    break;
                }

                end += received;
                while (true)
                {
                    // 0xFF never occurs in UTF-8 JSON: the agent writes it only right before a sync reply.
                    int found = buffer.AsSpan(scanned, end - scanned).IndexOfAny((byte)'\n', JsonLinesChannel.FlushMarker);
                    if (found < 0)
                    {
                        scanned = end;
                        break;
                    }

                    found += scanned;
                    var line = new ReadOnlySequence<byte>(buffer, start, found - start);
                    if (buffer[found] == JsonLinesChannel.FlushMarker)
                    {
                        // Whatever came before the marker on this line is the tail of something older.
                        Stale(line, "before a 0xFF marker");
                        afterMarker = true;
                    }
                    else if (ProcessLine(line, afterMarker))
                    {
                        afterMarker = false;
                    }

                    start = scanned = found + 1;
                }

                _channel.CheckMessageSize(end - start);
                ReadBuffer.ResetIfConsumed(ref buffer, ref start, ref end, ref scanned, InitialReadBufferBytes);
            }
        }
#pragma warning disable CA1031 // Whatever breaks the loop must still fault the waiters, or they hang forever.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = _channel.ReadLoopFailure(ex);
        }

        _channel.EndReadLoop(failure, endOfFile);
    }

    /// <summary>Routes one line; returns whether it held a message (whitespace-only lines do not count).</summary>
    private bool ProcessLine(ReadOnlySequence<byte> line, bool afterMarker)
    {
        if (JsonLine.IsBlank(line))
        {
            return false;
        }

        JsonElement message;
        try
        {
            message = JsonLine.Parse(line);
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
            if (idElement.TryGetInt64(out long id) && _channel.TryTake(id, out PendingCall? call))
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

    private void Stale(ReadOnlySequence<byte> bytes, string why)
    {
        if (JsonLine.IsBlank(bytes))
        {
            return;
        }

        string text = JsonLine.Preview(bytes);
        Transcript.Add(QmpMessageDirection.Received, Encoding.UTF8.GetBytes($"(stale, {why}: {text})"));
        QgaLog.Stale(_logger, _name, why, text);
    }
}
