using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;

namespace QemuTestKit.Qmp;

// The calls waiting for a reply, and the end of the channel that fails them.
internal sealed partial class JsonLinesChannel
{
    /// <summary>
    /// Registers a call matched by id; before its write, so a reply can never overtake its registration.
    /// </summary>
    /// <exception cref="Exception">The protocol's connection exception: the channel has ended.</exception>
    public void Register(PendingCall call)
    {
        _byId[call.Id] = call;
        if (IsClosed)
        {
            _byId.TryRemove(call.Id, out _);
            ThrowIfClosed(call.Command);
        }
    }

    /// <summary>
    /// Stops tracking a call nobody waits for any more. One matched by order stays queued: its late reply must still be
    /// consumed by it, or every later command would get the reply of the one before.
    /// </summary>
    public void Forget(PendingCall call)
    {
        if (call.SentWithId)
        {
            _byId.TryRemove(call.Id, out _);
        }
    }

    /// <summary>Takes the call waiting for the reply with <paramref name="id"/>, if any.</summary>
    public bool TryTake(long id, [NotNullWhen(true)] out PendingCall? call) => _byId.TryRemove(id, out call);

    /// <summary>Takes the oldest call matched by order, if any.</summary>
    public bool TryTakeNextInOrder([NotNullWhen(true)] out PendingCall? call)
    {
        lock (_inOrderLock)
        {
            return _inOrder.TryDequeue(out call);
        }
    }

    /// <summary>
    /// Ends the channel once: fails every pending call with the reason and the transcript's tail (or, when the end was
    /// expected, gives it the protocol's reply), then the protocol's own waiters, then <see cref="Completion"/>.
    /// </summary>
    public void Terminate(Exception? failure, bool endOfFile)
    {
        if (Interlocked.Exchange(ref _terminated, 1) != 0)
        {
            return;
        }

        // Both tables are closed to newcomers now (_terminated is set); drain them.
        List<PendingCall> pending = [];
        lock (_inOrderLock)
        {
            pending.AddRange(_inOrder);
            _inOrder.Clear();
        }

        foreach (long key in _byId.Keys)
        {
            if (_byId.TryRemove(key, out PendingCall? byId))
            {
                pending.Add(byId);
            }
        }

        string? expectedEnd = failure is null or IOException or SocketException ? _protocol.ExpectedEnd(pending) : null;
        bool expected = _closing || expectedEnd is not null;
        string reason = _closing ? "closed by the client"
            : expectedEnd is not null ? expectedEnd
            : failure is not null && _protocol.IsConnectionError(failure) ? failure.Message
            : failure is not null ? $"{failure.GetType().Name}: {failure.Message}"
            : endOfFile ? _protocol.EndOfFileReason : "ended";
        _terminationReason = reason;

        string tail = TailText();
        Exception? error = expected ? null : _protocol.ConnectionError($"{_protocol.Label}: connection lost: {reason}. {tail}", failure);
        _terminationError = error;
        _protocol.LogClosed(error);

        var outcomes = new List<(PendingCall Call, JsonElement? Reply, Exception? Error)>(pending.Count);
        foreach (PendingCall call in pending)
        {
            JsonElement? reply = expectedEnd is not null ? _protocol.ReplyAfterExpectedEnd(call) : null;
            outcomes.Add((call, reply, reply is null ? _protocol.ConnectionError(
                $"{_protocol.Label}: no reply to '{call.Command}' (#{call.Id.ToString(CultureInfo.InvariantCulture)}): connection {reason}. {tail}", failure, call.Command) : null));
        }

        // Callers resume on the pool, never inside Terminate (which may run inside CloseAsync or a write).
        ThreadPool.UnsafeQueueUserWorkItem(
            static outcomes =>
            {
                foreach ((PendingCall call, JsonElement? reply, Exception? error) in outcomes)
                {
                    _ = reply is { } value ? call.TrySetResult(value) : call.TrySetException(error!);
                }
            },
            outcomes,
            preferLocal: false);

        _protocol.OnEnded(reason, tail, failure, error);
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
