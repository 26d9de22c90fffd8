using System.Text.Json;

namespace QemuTestKit.Qmp;

// What QMP adds to the JSON-lines channel: its words, quit's expected end of file, and the greeting and event waiters
// that the end of the connection fails.
public sealed partial class QmpClient
{
    /// <summary>What a <c>quit</c> whose reply QEMU had no time to send returns: success.</summary>
    private static readonly JsonElement QuitByEof = JsonDocument.Parse("""{"return": {}}""").RootElement.Clone();

    private sealed class Protocol(QmpClient client) : JsonLinesProtocol
    {
        public override string Label { get; } = $"QMP {client._name}";

        public override string Noun => "connection";

        public override string TailHeading => "Last QMP messages:";

        public override string EndOfFileReason => "closed by QEMU";

        public override Exception ConnectionError(string message, Exception? innerException, string? pendingCommand = null) =>
            new QmpConnectionException(message, innerException) { PendingCommand = pendingCommand };

        public override bool IsConnectionError(Exception exception) => exception is QmpConnectionException;

        public override void LogSent(Utf8Text text) => QmpLog.Sent(client._logger, client._name, text);

        public override void LogClosed(Exception? error)
        {
            if (error is null)
            {
                QmpLog.ClosedExpected(client._logger, client._name);
            }
            else
            {
                QmpLog.ClosedUnexpected(client._logger, client._name, error);
            }
        }

        public override string? StallDiagnosis() => client._options.StallDiagnosis?.Invoke();

        public override string? ExpectedEnd(IReadOnlyList<PendingCall> pending)
        {
            // QEMU exits on quit and may close the socket before its reply gets out: that is success.
            bool quitPending = pending.Any(p => p.Command == QuitCommand);
            if (!client._quitIssued && !quitPending)
            {
                return null;
            }

            client._quitIssued = true;
            return "closed by QEMU after quit";
        }

        public override JsonElement? ReplyAfterExpectedEnd(PendingCall call) => call.Command == QuitCommand ? QuitByEof : null;

        public override void OnEnded(string reason, string tail, Exception? failure, Exception? error)
        {
            client._greeting.TrySetException(error ?? new QmpConnectionException($"QMP {client._name}: the connection was {reason} before QEMU's greeting."));

            EventWaiter[] waiters;
            EventListener[] listeners;
            lock (client._eventLock)
            {
                waiters = [.. client._waiters];
                client._waiters.Clear();
                listeners = [.. client._listeners];
                client._listeners.Clear();
            }

            if (waiters.Length > 0)
            {
                var waiterError = new QmpConnectionException($"QMP {client._name}: the connection ended while waiting for an event ({reason}). {tail}", error);
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
        }
    }
}
