using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

// The one sequential read loop: splits the stream on newlines and routes greeting, replies and events.
public sealed partial class QmpClient
{
    /// <summary>How many reads that completed at once may pass before matched callers are resumed on the pool instead.</summary>
    private const int MaxReadsWhileHolding = 16;

    private const int InitialReadBufferBytes = 16 * 1024;
    private const int MinReadBytes = 4 * 1024;

    /// <summary>The data of an event that carries none.</summary>
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    private void StartReadLoop() => _ = ReadLoopAsync(ReceiveAsync());

    /// <summary>One receive into the free end of the read buffer. Failures come back in the task, never thrown here.</summary>
    private ValueTask<int> ReceiveAsync()
    {
        ReadBuffer.ResetIfConsumed(ref _readBuffer, ref _readStart, ref _readEnd, ref _readScanned, InitialReadBufferBytes);
        ReadBuffer.MakeRoom(ref _readBuffer, ref _readStart, ref _readEnd, ref _readScanned, MinReadBytes);
        return _channel.ReceiveAsync(_readBuffer.AsMemory(_readEnd));
    }

    /// <summary>
    /// Reads and routes messages. Waiting callers are resumed on this thread, without a thread-pool hop, but only
    /// after the next read is issued and its continuation hands the loop to a new invocation: a caller that blocks
    /// (or runs long) in its continuation can never stall reading, so there is no deadlock to fear. Only one
    /// invocation touches the read buffer at a time: the one the loop was handed to.
    /// </summary>
    private async Task ReadLoopAsync(ValueTask<int> read)
    {
        Exception? failure = null;
        bool endOfFile = false;
        int readsWhileHolding = 0;
        try
        {
            while (true)
            {
                int received = await read.ConfigureAwait(false);
                if (received == 0)
                {
                    endOfFile = true;
                    var rest = new ReadOnlySequence<byte>(_readBuffer, _readStart, _readEnd - _readStart);
                    if (!JsonLine.IsBlank(rest))
                    {
                        failure = new QmpConnectionException(
                            $"QMP {_name}: the connection ended in the middle of a message ({rest.Length} bytes without a newline: {JsonLine.Preview(rest)}).");
                    }

                    break;
                }

                _readEnd += received;
                while (true)
                {
                    // Resume the newline search where the last read stopped: a 16 MiB message arrives in many reads.
                    int newline = _readBuffer.AsSpan(_readScanned, _readEnd - _readScanned).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        _readScanned = _readEnd;
                        break;
                    }

                    newline += _readScanned;
                    ProcessLine(new ReadOnlySequence<byte>(_readBuffer, _readStart, newline - _readStart));
                    _readStart = _readScanned = newline + 1;
                }

                _channel.CheckMessageSize(_readEnd - _readStart);

                // Awaited exactly once, here or by the invocation the loop is handed to; IsCompleted does not consume it.
#pragma warning disable CA2012
                read = ReceiveAsync();
#pragma warning restore CA2012
                if (_batch is { } batch)
                {
                    if (!read.IsCompleted)
                    {
                        _batch = null;
                        _ = ReadLoopAsync(read);
                        Deliver(batch);
                        return;
                    }

                    // More data is already here (QEMU sends an event and then the reply right after it): route it
                    // too and resume everyone together once the socket is drained. That costs microseconds, where
                    // a thread-pool hop costs tens. Only a steady flood falls back to the pool, so nobody starves.
                    if (++readsWhileHolding >= MaxReadsWhileHolding)
                    {
                        _batch = null;
                        readsWhileHolding = 0;
                        ThreadPool.UnsafeQueueUserWorkItem(static b => Deliver(b), batch, preferLocal: false);
                    }
                }
            }
        }
#pragma warning disable CA1031 // Whatever breaks the loop must still fault the waiters, or they hang forever.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = _channel.ReadLoopFailure(ex);
        }

        if (_batch is { } last)
        {
            _batch = null;
            Deliver(last);
        }

        _channel.EndReadLoop(failure, endOfFile);
    }

    private static void Deliver(List<Delivery> batch)
    {
        foreach (Delivery delivery in batch)
        {
            if (delivery.Reply is { } reply)
            {
                reply.TrySetResult(delivery.Message);
            }
            else
            {
                delivery.Waiter!.TrySetResult(delivery.Event!);
            }
        }
    }

    private void Enqueue(Delivery delivery) => (_batch ??= []).Add(delivery);

    private void ProcessLine(ReadOnlySequence<byte> line)
    {
        if (JsonLine.IsBlank(line))
        {
            return;
        }

        JsonElement message;
        try
        {
            message = JsonLine.Parse(line);
        }
        catch (JsonException ex)
        {
            Transcript.Add(QmpMessageDirection.Received, line.ToArray());
            throw new QmpConnectionException($"QMP {_name}: QEMU sent invalid JSON ({ex.Message}): {JsonLine.Preview(line)}", ex);
        }

        Transcript.AddReceived(message);
        QmpLog.Received(_logger, _name, message);

        if (message.ValueKind != JsonValueKind.Object)
        {
            throw new QmpConnectionException($"QMP {_name}: QEMU sent a message that is not a JSON object: {JsonLine.Preview(line)}");
        }

        if (!_greeting.Task.IsCompleted)
        {
            _greeting.TrySetResult(ParseGreeting(message, line));
        }
        else if (message.TryGetProperty("event", out JsonElement name) && name.ValueKind == JsonValueKind.String)
        {
            HandleEvent(name.GetString()!, message);
        }
        else if (message.TryGetProperty("return", out _) || message.TryGetProperty("error", out _))
        {
            HandleReply(message);
        }
        else
        {
            QmpLog.UnknownMessage(_logger, _name, message.GetRawText());
        }
    }

    private void HandleReply(JsonElement message)
    {
        PendingCall? pending = null;
        if (message.TryGetProperty("id", out JsonElement idElement))
        {
            if (idElement.ValueKind == JsonValueKind.Number && idElement.TryGetInt64(out long id))
            {
                _channel.TryTake(id, out pending);
            }
        }
        else
        {
            _channel.TryTakeNextInOrder(out pending);
        }

        if (pending is not null)
        {
            if (pending.Command == QuitCommand && message.TryGetProperty("return", out _))
            {
                _quitIssued = true;
            }

            Enqueue(new Delivery(pending, message, null, null));
            return;
        }

        QmpLog.UnknownReply(_logger, _name, message.GetRawText());
    }

    private void HandleEvent(string name, JsonElement message)
    {
        JsonElement data = message.TryGetProperty("data", out JsonElement d) ? d : EmptyObject;
        var ev = new QmpEvent(name, data, Timestamp(message), message);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            QmpLog.Event(_logger, _name, name);
        }

        lock (_eventLock)
        {
            foreach (EventListener listener in _listeners)
            {
                if (listener.Wants(ev))
                {
                    listener.Channel.Writer.TryWrite(ev);
                }
            }

            for (int i = 0; i < _waiters.Count; i++)
            {
                EventWaiter waiter = _waiters[i];
                if (waiter.Matches(ev))
                {
                    // Removed under the lock: a waiter that times out concurrently can tell it was handed this event.
                    _waiters.RemoveAt(i);
                    Enqueue(new Delivery(null, default, waiter, ev));
                    return;
                }
            }

            _events.Add(ev);
        }
    }

    private static DateTimeOffset Timestamp(JsonElement message)
    {
        if (message.TryGetProperty("timestamp", out JsonElement ts)
            && ts.ValueKind == JsonValueKind.Object
            && ts.TryGetProperty("seconds", out JsonElement s) && s.TryGetInt64(out long seconds)
            && ts.TryGetProperty("microseconds", out JsonElement us) && us.TryGetInt64(out long microseconds)
            && seconds >= 0)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(microseconds * 10);
        }

        return DateTimeOffset.UtcNow;
    }
}
