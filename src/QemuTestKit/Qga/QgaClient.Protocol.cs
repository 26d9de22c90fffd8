using QemuTestKit.Qmp;

namespace QemuTestKit.Qga;

// What the guest agent adds to the JSON-lines channel: its words, the expected end after a command that never
// answers, and the resynchronisation that the end of the channel fails.
public sealed partial class QgaClient
{
    private sealed class Protocol(QgaClient client) : JsonLinesProtocol
    {
        public override string Label { get; } = $"Guest agent {client._name}";

        public override string Noun => "channel";

        public override string TailHeading => "Last guest agent messages:";

        public override string EndOfFileReason => "closed by the other end (end of file)";

        public override Exception ConnectionError(string message, Exception? innerException, string? pendingCommand = null) =>
            new QgaConnectionException(message, innerException) { PendingCommand = pendingCommand };

        public override bool IsConnectionError(Exception exception) => exception is QgaConnectionException;

        public override void LogSent(Utf8Text text) => QgaLog.Sent(client._logger, client._name, text);

        public override void LogClosed(Exception? error)
        {
            if (error is null)
            {
                QgaLog.ClosedExpected(client._logger, client._name);
            }
            else
            {
                QgaLog.ClosedUnexpected(client._logger, client._name, error);
            }
        }

        public override string? ExpectedEnd(IReadOnlyList<PendingCall> pending) =>
            client._channel.OtherEndClosesAfter is { } command ? $"closed by the agent after '{command}'" : null;

        public override void OnEnded(string reason, string tail, Exception? failure, Exception? error)
        {
            lock (client._syncLock)
            {
                client._sync?.TrySetException(new QgaConnectionException($"Guest agent {client._name}: no answer to {SyncCommand}: connection {reason}. {tail}", failure)
                {
                    PendingCommand = SyncCommand,
                });
            }
        }
    }
}
