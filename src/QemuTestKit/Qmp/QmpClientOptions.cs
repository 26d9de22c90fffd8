using Microsoft.Extensions.Logging;

namespace QemuTestKit.Qmp;

/// <summary>How a <see cref="QmpClient"/> talks to QEMU. Immutable: use <c>with</c> to derive a variant.</summary>
public sealed record QmpClientOptions
{
    /// <summary>
    /// Convert top-level argument keys from <c>_</c> to <c>-</c> for dictionary and anonymous-object arguments,
    /// like the Python <c>QEMUMachine</c>'s <c>conv_keys</c> (default <see langword="true"/>). Arguments given as
    /// <see cref="System.Text.Json.JsonElement"/> or <see cref="System.Text.Json.Nodes.JsonNode"/> are sent verbatim,
    /// which is the per-call opt-out.
    /// </summary>
    public bool ConvertKeys { get; init; } = true;

    /// <summary>Enable out-of-band execution during negotiation when QEMU offers the <c>oob</c> capability.</summary>
    public bool EnableOob { get; init; }

    /// <summary>
    /// Upper bound for the greeting, the negotiation and each command's reply; <see langword="null"/> (default) waits
    /// until the caller's token is cancelled. An expired bound throws <see cref="TimeoutException"/>.
    /// </summary>
    public TimeSpan? CommandTimeout { get; init; }

    /// <summary>
    /// Send an <c>"id"</c> with every in-band command (default <see langword="false"/>). QEMU answers in-band commands
    /// strictly in order, so the client matches those replies by order and sends no id: QEMU reads QMP input one byte
    /// per <c>read()</c>, so every byte costs a few microseconds per command (an id made each round trip ~25 % slower
    /// under TCG). Out-of-band commands, and every command once OOB is negotiated, always carry an id.
    /// </summary>
    public bool SendCommandIds { get; init; }

    /// <summary>
    /// Called only when a wait times out, on the thread that times out; its text (for example QEMU's process state and
    /// console tail, which the machine that owns the client knows and the client does not) goes into the
    /// <see cref="TimeoutException"/> before the transcript tail. <see langword="null"/> or empty adds nothing.
    /// </summary>
    internal Func<string?>? StallDiagnosis { get; init; }

    /// <summary>Where the client logs (connection, negotiation, every message at Trace). Default: no logging.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>A name for this connection in log lines and exception messages (e.g. the machine's name).</summary>
    public string? Name { get; init; }

    /// <summary>
    /// How many bytes of message text <see cref="QmpClient.Transcript"/> keeps (default 4 MiB). Beyond it the oldest
    /// messages are dropped and the transcript says how many were dropped.
    /// </summary>
    public int TranscriptMaxBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// The token a call made without one follows (e.g. the current test's): set by <see cref="QemuMachine"/> from
    /// <see cref="QemuMachineOptions.AmbientCancellation"/>. Read once per call, only when the caller's token cannot cancel.
    /// </summary>
    internal Func<CancellationToken>? AmbientCancellation { get; init; }
}
