using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// A command waiting for its reply; completes with the whole response object. Continuations run synchronously:
/// the read loop completes it only after handing reading over (see <c>QmpClient.ReadLoopAsync</c>), which saves a
/// thread-pool hop per command without letting a caller stall the loop.
/// </summary>
internal sealed class PendingRequest(string command, long id, bool sentWithId)
    : TaskCompletionSource<JsonElement>(TaskCreationOptions.None)
{
    public string Command { get; } = command;

    /// <summary>The client's sequence number; on the wire only when <see cref="SentWithId"/>.</summary>
    public long Id { get; } = id;

    /// <summary>Matched by <c>"id"</c> (out-of-band or <see cref="QmpClientOptions.SendCommandIds"/>) rather than by order.</summary>
    public bool SentWithId { get; } = sentWithId;
}
