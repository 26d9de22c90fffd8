using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// A command waiting for its reply on a <see cref="JsonLinesChannel"/>; completes with the whole response object.
/// </summary>
/// <param name="command">The command name, for the evidence when the channel ends first.</param>
/// <param name="id">The client's sequence number; on the wire only when <paramref name="sentWithId"/>.</param>
/// <param name="sentWithId">Matched by <c>"id"</c> rather than by order.</param>
/// <param name="resumeInline">
/// Whether continuations may run synchronously: only when the read loop completes calls after handing reading over
/// (QMP, see <c>QmpClient.ReadLoopAsync</c>), which saves a thread-pool hop per command without letting a caller
/// stall the loop. A loop that completes calls in place (the guest agent's) needs them resumed on the pool.
/// </param>
internal sealed class PendingCall(string command, long id, bool sentWithId, bool resumeInline)
    : TaskCompletionSource<JsonElement>(resumeInline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously)
{
    public string Command { get; } = command;

    /// <summary>The client's sequence number; on the wire only when <see cref="SentWithId"/>.</summary>
    public long Id { get; } = id;

    /// <summary>Matched by <c>"id"</c> (the guest agent always; QMP out-of-band or with ids on) rather than by order.</summary>
    public bool SentWithId { get; } = sentWithId;
}
