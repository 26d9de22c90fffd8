using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace QemuTestKit.Qmp;

// The one sequential read loop: splits the stream on newlines and routes greeting, replies and events.
public sealed partial class QmpClient
{
    /// <summary>How many reads that completed at once may pass before matched callers are resumed on the pool instead.</summary>
    private const int MaxReadsWhileHolding = 16;

    private const int InitialReadBufferBytes = 16 * 1024;
    private const int MinReadBytes = 4 * 1024;

    private void StartReadLoop() => _ = ReadLoopAsync(ReceiveAsync());

    /// <summary>
    /// One receive into the free end of the read buffer: straight from the socket when there is one (no stream or
    /// pipe layers in between), else from the stream. Failures come back in the task, never thrown here.
    /// </summary>
    private ValueTask<int> ReceiveAsync()
    {
        try
        {
            if (_readStart == _readEnd)
            {
                _readStart = _readEnd = _readScanned = 0;
                if (_readBuffer.Length > 4 * InitialReadBufferBytes)
                {
                    _readBuffer = new byte[InitialReadBufferBytes]; // do not keep a 16 MiB buffer for 100-byte replies
                }
            }

            if (_readBuffer.Length - _readEnd < MinReadBytes)
            {
                int kept = _readEnd - _readStart;
                byte[] target = kept + MinReadBytes <= _readBuffer.Length ? _readBuffer : new byte[Math.Max(_readBuffer.Length * 2, kept + MinReadBytes)];
                Buffer.BlockCopy(_readBuffer, _readStart, target, 0, kept);
                _readBuffer = target;
                _readScanned -= _readStart;
                _readStart = 0;
                _readEnd = kept;
            }

            Memory<byte> free = _readBuffer.AsMemory(_readEnd);
            return _socket is { } socket ? socket.ReceiveAsync(free, SocketFlags.None) : _stream.ReadAsync(free, _readCancel.Token);
        }
#pragma warning disable CA1031 // Handed to the loop, which decides what a failure means.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<int>(ex);
        }
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
                    if (!IsWhitespace(rest))
                    {
                        failure = new QmpConnectionException(
                            $"QMP {_name}: the connection ended in the middle of a message ({rest.Length} bytes without a newline: {Preview(rest)}).");
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

                if (_readEnd - _readStart > MaxMessageBytes)
                {
                    throw new QmpConnectionException($"QMP {_name}: a message exceeded {MaxMessageBytes} bytes without a newline.");
                }

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
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or QmpConnectionException)
        {
            failure = ex;
        }
#pragma warning disable CA1031 // Whatever breaks the loop must still fault the waiters, or they hang forever.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = new QmpConnectionException($"QMP {_name}: the read loop failed: {ex.Message}", ex);
        }

        if (_batch is { } last)
        {
            _batch = null;
            Deliver(last);
        }

        Terminate(failure, endOfFile);
        _readLoopDone.TrySetResult();
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
        if (IsWhitespace(line))
        {
            return;
        }

        JsonElement message;
        try
        {
            // One copy, into the element's own document; the transcript keeps that document, not another array.
            var reader = new Utf8JsonReader(line);
            message = JsonElement.ParseValue(ref reader);
            if (reader.Read())
            {
                throw new JsonException("Data after the JSON value.");
            }
        }
        catch (JsonException ex)
        {
            Transcript.Add(QmpMessageDirection.Received, line.ToArray());
            throw new QmpConnectionException($"QMP {_name}: QEMU sent invalid JSON ({ex.Message}): {Preview(line)}", ex);
        }

        Transcript.AddReceived(message);
        QmpLog.Received(_logger, _name, message);

        if (message.ValueKind != JsonValueKind.Object)
        {
            throw new QmpConnectionException($"QMP {_name}: QEMU sent a message that is not a JSON object: {Preview(line)}");
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

    private QmpGreeting ParseGreeting(JsonElement message, ReadOnlySequence<byte> line)
    {
        if (!message.TryGetProperty("QMP", out JsonElement qmp) || qmp.ValueKind != JsonValueKind.Object)
        {
            throw new QmpConnectionException($"QMP {_name}: expected the QMP greeting ({{\"QMP\": …}}) but got: {Preview(line)}");
        }

        int major = 0, minor = 0, micro = 0;
        string package = "";
        if (qmp.TryGetProperty("version", out JsonElement version) && version.ValueKind == JsonValueKind.Object)
        {
            if (version.TryGetProperty("qemu", out JsonElement qemu) && qemu.ValueKind == JsonValueKind.Object)
            {
                major = Int(qemu, "major");
                minor = Int(qemu, "minor");
                micro = Int(qemu, "micro");
            }

            if (version.TryGetProperty("package", out JsonElement p) && p.ValueKind == JsonValueKind.String)
            {
                package = p.GetString()!.Trim();
            }
        }

        var capabilities = new List<string>();
        if (qmp.TryGetProperty("capabilities", out JsonElement caps) && caps.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement cap in caps.EnumerateArray())
            {
                if (cap.ValueKind == JsonValueKind.String)
                {
                    capabilities.Add(cap.GetString()!);
                }
            }
        }

        return new QmpGreeting(new QmpVersion(major, minor, micro, package), capabilities, message);

        static int Int(JsonElement parent, string property) =>
            parent.TryGetProperty(property, out JsonElement v) && v.TryGetInt32(out int n) ? n : 0;
    }

    private void HandleReply(JsonElement message)
    {
        PendingRequest? pending = null;
        if (message.TryGetProperty("id", out JsonElement idElement))
        {
            if (idElement.ValueKind == JsonValueKind.Number && idElement.TryGetInt64(out long id))
            {
                _pending.TryRemove(id, out pending);
            }
        }
        else
        {
            lock (_inOrderLock)
            {
                _inOrder.TryDequeue(out pending);
            }
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

    /// <summary>Ends the connection once: fails (or, after quit, completes) everything that waits on it.</summary>
    private void Terminate(Exception? failure, bool endOfFile)
    {
        if (Interlocked.Exchange(ref _terminated, 1) != 0)
        {
            return;
        }

        // Both tables are closed to newcomers now (_terminated is set); drain them.
        List<PendingRequest> pendingRequests = [];
        lock (_inOrderLock)
        {
            pendingRequests.AddRange(_inOrder);
            _inOrder.Clear();
        }

        foreach (long key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out PendingRequest? byId))
            {
                pendingRequests.Add(byId);
            }
        }

        bool quitPending = pendingRequests.Exists(p => p.Command == QuitCommand);
        bool quitting = _quitIssued || quitPending;
        bool lostAfterQuit = quitting && (failure is null or IOException or SocketException);
        bool expected = _closing || lostAfterQuit;
        if (quitPending && lostAfterQuit)
        {
            _quitIssued = true;
        }

        string reason = _closing ? "closed by the client"
            : lostAfterQuit ? "closed by QEMU after quit"
            : failure is QmpConnectionException qce ? qce.Message
            : failure is not null ? $"{failure.GetType().Name}: {failure.Message}"
            : endOfFile ? "closed by QEMU" : "ended";
        _terminationReason = reason;

        QmpConnectionException? error = expected ? null : new QmpConnectionException($"QMP {_name}: connection lost: {reason}. {TailText()}", failure);
        _terminationError = error;
        if (error is null)
        {
            QmpLog.ClosedExpected(_logger, _name);
        }
        else
        {
            QmpLog.ClosedUnexpected(_logger, _name, error);
        }

        string tail = TailText();
        var faults = new List<(PendingRequest Request, QmpConnectionException? Error)>(pendingRequests.Count);
        foreach (PendingRequest pending in pendingRequests)
        {
            // QEMU exits on quit and may close the socket before its reply gets out: that is success.
            faults.Add((pending, pending.Command == QuitCommand && lostAfterQuit ? null : new QmpConnectionException(
                $"QMP {_name}: no reply to '{pending.Command}' (#{pending.Id.ToString(CultureInfo.InvariantCulture)}): connection {reason}. {tail}", failure)
            {
                PendingCommand = pending.Command,
            }));
        }

        // Callers resume on the pool, never inside Terminate (which may run inside CloseAsync).
        ThreadPool.UnsafeQueueUserWorkItem(
            static faults =>
            {
                foreach ((PendingRequest request, QmpConnectionException? error) in faults)
                {
                    _ = error is null ? request.TrySetResult(QuitByEof) : request.TrySetException(error);
                }
            },
            faults,
            preferLocal: false);

        _greeting.TrySetException(error ?? new QmpConnectionException($"QMP {_name}: the connection was {reason} before QEMU's greeting."));

        EventWaiter[] waiters;
        EventListener[] listeners;
        lock (_eventLock)
        {
            waiters = [.. _waiters];
            _waiters.Clear();
            listeners = [.. _listeners];
            _listeners.Clear();
        }

        if (waiters.Length > 0)
        {
            var waiterError = new QmpConnectionException($"QMP {_name}: the connection ended while waiting for an event ({reason}). {tail}", error);
            ThreadPool.UnsafeQueueUserWorkItem(
                static state =>
                {
                    foreach (EventWaiter waiter in state.Waiters)
                    {
                        waiter.TrySetException(state.Error);
                    }
                },
                (Waiters: waiters, Error: waiterError),
                preferLocal: false);
        }

        foreach (EventListener listener in listeners)
        {
            listener.Channel.Writer.TryComplete(error);
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

    private static bool IsWhitespace(ReadOnlySequence<byte> bytes)
    {
        foreach (ReadOnlyMemory<byte> segment in bytes)
        {
            foreach (byte b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static string Preview(ReadOnlySequence<byte> bytes)
    {
        const int Max = 200;
        string text = Encoding.UTF8.GetString(bytes.Length > Max ? bytes.Slice(0, Max) : bytes);
        return bytes.Length > Max ? text + "…" : text;
    }
}
