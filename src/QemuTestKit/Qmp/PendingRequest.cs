using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>A command waiting for the reply with its id; completes with the whole response object.</summary>
internal sealed class PendingRequest(string command) : TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public string Command { get; } = command;
}
