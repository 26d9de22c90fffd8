using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;

namespace QemuTestKit.Qmp;

// Events: one queue in arrival order, waiters that wake on arrival, and broadcast listeners.
public sealed partial class QmpClient
{
    /// <summary>Removes and returns the oldest queued event, if any (QEMUMachine's <c>get_qmp_event(wait=False)</c>).</summary>
    public bool TryDequeueEvent([NotNullWhen(true)] out QmpEvent? ev)
    {
        lock (_eventLock)
        {
            if (_events.Count > 0)
            {
                ev = _events[0];
                _events.RemoveAt(0);
                return true;
            }
        }

        ev = null;
        return false;
    }

    /// <summary>Removes and returns the oldest queued event, waiting for one if the queue is empty (<c>get_qmp_event(wait=True)</c>).</summary>
    /// <param name="timeout">How long to wait; <see langword="null"/> waits until <paramref name="cancellationToken"/> is cancelled.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">No event within <paramref name="timeout"/>.</exception>
    /// <exception cref="QmpConnectionException">The connection ended and no event is queued.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<QmpEvent> DequeueEventAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        WaitCoreAsync(filters: null, "any event", timeout, cancellationToken);

    /// <summary>Removes and returns every queued event, oldest first (QEMUMachine's <c>get_qmp_events</c>).</summary>
    public IReadOnlyList<QmpEvent> DequeueAllEvents()
    {
        lock (_eventLock)
        {
            QmpEvent[] events = [.. _events];
            _events.Clear();
            return events;
        }
    }

    /// <summary>
    /// Waits for the event <paramref name="name"/> whose message matches <paramref name="match"/> (QEMUMachine's
    /// <c>event_wait</c>): already-queued events are searched first and the match is removed from the queue; events
    /// that arrive meanwhile and do not match stay queued in order.
    /// </summary>
    /// <param name="name">Event name, e.g. <c>STOP</c>.</param>
    /// <param name="match">
    /// Optional sub-dictionary matched against the whole event message (see <see cref="QmpEventMatcher"/>), e.g.
    /// <c>new { data = new { reason = "host-qmp-quit" } }</c>; a <see cref="JsonElement"/>, JsonNode, dictionary or
    /// anonymous object. Keys are not converted.
    /// </param>
    /// <param name="timeout">How long to wait; <see langword="null"/> waits until <paramref name="cancellationToken"/> is cancelled.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">No matching event within <paramref name="timeout"/>.</exception>
    /// <exception cref="QmpConnectionException">The connection ended before a matching event.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<QmpEvent> WaitForEventAsync(string name, object? match = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return WaitCoreAsync([(name, QmpArgumentWriter.ToElement(match))], name, timeout, cancellationToken);
    }

    /// <summary>
    /// Waits for the first event that matches any of <paramref name="events"/> (QEMUMachine's <c>events_wait</c>), queued
    /// events first; see <see cref="WaitForEventAsync"/>.
    /// </summary>
    /// <exception cref="TimeoutException">No matching event within <paramref name="timeout"/>.</exception>
    /// <exception cref="QmpConnectionException">The connection ended before a matching event.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<QmpEvent> WaitForAnyEventAsync(IEnumerable<(string Name, object? Match)> events, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        (string Name, JsonElement? Match)[] filters = [.. events.Select(e => (e.Name, QmpArgumentWriter.ToElement(e.Match)))];
        if (filters.Length == 0)
        {
            throw new ArgumentException("Give at least one event to wait for.", nameof(events));
        }

        return WaitCoreAsync(filters, string.Join(" or ", filters.Select(f => f.Name)), timeout, cancellationToken);
    }

    /// <summary>
    /// A copy of every event from now on (optionally only those named in <paramref name="names"/>), independent of the
    /// queue: listening neither consumes nor hides events from the waits. The subscription starts when this method is
    /// called and ends when the enumeration ends; it completes when the connection closes (throwing
    /// <see cref="QmpConnectionException"/> if it was lost).
    /// </summary>
    public IAsyncEnumerable<QmpEvent> ListenAsync(IReadOnlyCollection<string>? names = null, CancellationToken cancellationToken = default)
    {
        var listener = new EventListener(names);
        lock (_eventLock)
        {
            if (_channel.IsClosed)
            {
                listener.Channel.Writer.TryComplete(_channel.TerminationError);
            }
            else
            {
                _listeners.Add(listener);
            }
        }

        return ReadListenerAsync(listener, cancellationToken);
    }

    private async IAsyncEnumerable<QmpEvent> ReadListenerAsync(EventListener listener, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            ChannelReader<QmpEvent> reader = listener.Channel.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out QmpEvent? ev))
                {
                    yield return ev;
                }
            }
        }
        finally
        {
            lock (_eventLock)
            {
                _listeners.Remove(listener);
            }
        }
    }

    private async Task<QmpEvent> WaitCoreAsync(IReadOnlyList<(string Name, JsonElement? Match)>? filters, string what, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        cancellationToken = OrAmbient(cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new EventWaiter(filters);
        lock (_eventLock)
        {
            for (int i = 0; i < _events.Count; i++)
            {
                if (waiter.Matches(_events[i]))
                {
                    QmpEvent queued = _events[i];
                    _events.RemoveAt(i);
                    return queued;
                }
            }

            if (_channel.IsClosed)
            {
                throw new QmpConnectionException($"QMP {_name}: cannot wait for {what}: the connection is closed ({_channel.TerminationReason}). {TailText()}", _channel.TerminationError);
            }

            if (timeout is { } t && t <= TimeSpan.Zero)
            {
                throw new TimeoutException($"QMP {_name}: {what} is not queued. {TailText()}");
            }

            _waiters.Add(waiter);
        }

        if (timeout is null)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return await waiter.Task.ConfigureAwait(false);
            }

            // One registration instead of WaitAsync. A waiter the read loop already took keeps its event.
            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var (client, w) = ((QmpClient, EventWaiter))state!;
                    lock (client._eventLock)
                    {
                        if (!client._waiters.Remove(w))
                        {
                            return;
                        }
                    }

                    ThreadPool.UnsafeQueueUserWorkItem(static s => s.Waiter.TrySetCanceled(s.Token), (Waiter: w, Token: token), preferLocal: false);
                },
                (this, waiter));
            try
            {
                return await waiter.Task.ConfigureAwait(false);
            }
            finally
            {
                await registration.DisposeAsync().ConfigureAwait(false);
            }
        }

        try
        {
            return await waiter.Task.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException && !waiter.Task.IsFaulted)
        {
            bool handedAnEvent;
            lock (_eventLock)
            {
                handedAnEvent = !_waiters.Remove(waiter);
            }

            if (handedAnEvent)
            {
                // The read loop took this waiter (under the lock) and is delivering its event: keep it, or it is lost.
                return await waiter.Task.ConfigureAwait(false);
            }

            if (ex is TimeoutException)
            {
                throw new TimeoutException($"QMP {_name}: no {what} event within {timeout}. {StallText()}", ex);
            }

            throw;
        }
    }
}
