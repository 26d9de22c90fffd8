using Microsoft.Extensions.Logging;

namespace QemuTestKit.Qga;

/// <summary>How a <see cref="QgaClient"/> talks to the guest agent. Immutable: use <c>with</c> to derive a variant.</summary>
public sealed record QgaClientOptions
{
    /// <summary>
    /// Upper bound for each command's reply and for a resynchronisation (default 30 s); <see langword="null"/> waits
    /// until the caller's token is cancelled. An expired bound throws <see cref="TimeoutException"/>.
    /// </summary>
    public TimeSpan? CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Default upper bound for <see cref="QgaClient.ExecAsync"/> waiting for the guest process to exit (default 5
    /// minutes); the call's own <c>timeout</c> argument overrides it.
    /// </summary>
    public TimeSpan ExecTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Convert top-level argument keys from <c>_</c> to <c>-</c> for dictionary and anonymous-object arguments
    /// (default <see langword="true"/>), as for QMP. <see cref="System.Text.Json.JsonElement"/> and
    /// <see cref="System.Text.Json.Nodes.JsonNode"/> arguments are sent verbatim.
    /// </summary>
    public bool ConvertKeys { get; init; } = true;

    /// <summary>Where the client logs (connection, resynchronisation, every message at Trace). Default: no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>A name for this connection in log lines and exception messages (e.g. the machine's name).</summary>
    public string? Name { get; init; }

    /// <summary>
    /// How many bytes of message text <see cref="QgaClient.Transcript"/> keeps (default 4 MiB). Beyond it the oldest
    /// messages are dropped and the transcript says how many were dropped.
    /// </summary>
    public int TranscriptMaxBytes { get; init; } = 4 * 1024 * 1024;
}
