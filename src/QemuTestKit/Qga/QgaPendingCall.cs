using System.Text.Json;

namespace QemuTestKit.Qga;

/// <summary>
/// A command waiting for its reply, matched by the <c>"id"</c> it was sent with; completes with the whole response.
/// Continuations run on the pool so a caller can never stall the read loop.
/// </summary>
internal sealed class QgaPendingCall(string command, long id)
    : TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public string Command { get; } = command;

    public long Id { get; } = id;
}
