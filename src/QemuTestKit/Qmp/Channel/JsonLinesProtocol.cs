using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// What differs between the protocols that share a <see cref="JsonLinesChannel"/> (QMP and the guest agent): their
/// words in messages and logs, their exception type, when the other end closing is expected, and the waiters beyond
/// pending calls that the end of the channel must fail.
/// </summary>
internal abstract class JsonLinesProtocol
{
    /// <summary>How every message names the client, e.g. <c>QMP monitor</c> or <c>Guest agent qga</c>.</summary>
    public abstract string Label { get; }

    /// <summary>What the transport is called in messages: <c>connection</c> or <c>channel</c>.</summary>
    public abstract string Noun { get; }

    /// <summary>The line above the transcript's tail in exception messages.</summary>
    public abstract string TailHeading { get; }

    /// <summary>The reason given when the other end closed the transport unannounced.</summary>
    public abstract string EndOfFileReason { get; }

    /// <summary>Creates the protocol's connection exception.</summary>
    public abstract Exception ConnectionError(string message, Exception? innerException, string? pendingCommand = null);

    /// <summary>Whether <paramref name="exception"/> is the protocol's connection exception (its message is the reason as is).</summary>
    public abstract bool IsConnectionError(Exception exception);

    /// <summary>Logs a message just written (without its newline).</summary>
    public abstract void LogSent(Utf8Text text);

    /// <summary>Logs the end of the channel: expected when <paramref name="error"/> is null.</summary>
    public abstract void LogClosed(Exception? error);

    /// <summary>The owner's diagnosis for a stall (for example QEMU's process state), or null; put before the tail in timeouts.</summary>
    public virtual string? StallDiagnosis() => null;

    /// <summary>
    /// Called once when the other end closed (or the transport failed with an I/O error): the reason when that was
    /// expected (QEMU after <c>quit</c>, the agent after <c>guest-shutdown</c>), else null.
    /// </summary>
    /// <param name="pending">The calls still waiting for a reply.</param>
    public abstract string? ExpectedEnd(IReadOnlyList<PendingCall> pending);

    /// <summary>The reply a pending call gets when the channel ended as expected (<c>quit</c>'s success), or null to fail it.</summary>
    public virtual JsonElement? ReplyAfterExpectedEnd(PendingCall call) => null;

    /// <summary>
    /// Fails the protocol's own waiters (a greeting, event waiters, a resynchronisation) once the channel ended; runs
    /// after the pending calls were failed and before <see cref="JsonLinesChannel.Completion"/> completes.
    /// </summary>
    /// <param name="reason">Why the channel ended.</param>
    /// <param name="tail">The transcript's tail, for messages.</param>
    /// <param name="failure">What broke the channel, if anything.</param>
    /// <param name="error">The connection error, or null when the end was expected.</param>
    public abstract void OnEnded(string reason, string tail, Exception? failure, Exception? error);
}
