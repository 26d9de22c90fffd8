using System.Text;

namespace QemuTestKit.Xunit;

/// <summary>
/// Compares scrubbed text with its verified snapshot file and acts on the result: passes on a match,
/// writes <c>.received.txt</c> and throws with a unified diff on a mismatch, accepts in accept mode, and
/// creates a missing snapshot unless this is a CI run.
/// </summary>
internal static class SnapshotVerifier
{
    private const int MaxTextLinesInMessage = 200;

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static SnapshotOutcome Verify(string text, SnapshotFile file, SnapshotEnvironment environment)
    {
        string received = Normalize(text);
        string? verified = File.Exists(file.VerifiedPath) ? Normalize(File.ReadAllText(file.VerifiedPath)) : null;
        Decision decision = Decide(received, verified, file, environment);
        if (decision.WriteVerified)
        {
            File.WriteAllText(file.VerifiedPath, received, s_utf8);
        }

        if (decision.WriteReceived)
        {
            File.WriteAllText(file.ReceivedPath, received, s_utf8);
        }
        else
        {
            File.Delete(file.ReceivedPath);
        }

        return decision.Failure is null ? decision.Outcome : throw decision.Failure;
    }

    public static async Task<SnapshotOutcome> VerifyAsync(string text, SnapshotFile file, SnapshotEnvironment environment, CancellationToken cancellationToken)
    {
        string received = Normalize(text);
        string? verified = File.Exists(file.VerifiedPath)
            ? Normalize(await File.ReadAllTextAsync(file.VerifiedPath, cancellationToken).ConfigureAwait(false))
            : null;
        Decision decision = Decide(received, verified, file, environment);
        if (decision.WriteVerified)
        {
            await File.WriteAllTextAsync(file.VerifiedPath, received, s_utf8, cancellationToken).ConfigureAwait(false);
        }

        if (decision.WriteReceived)
        {
            await File.WriteAllTextAsync(file.ReceivedPath, received, s_utf8, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            File.Delete(file.ReceivedPath);
        }

        return decision.Failure is null ? decision.Outcome : throw decision.Failure;
    }

    /// <summary>
    /// Snapshot files hold <c>\n</c> line ends and exactly one final newline, whatever git or an editor did
    /// to them (autocrlf, a final newline added or removed), so only real content differences fail.
    /// </summary>
    internal static string Normalize(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";

    private static Decision Decide(string received, string? verified, SnapshotFile file, SnapshotEnvironment environment)
    {
        string verifiedName = Path.GetFileName(file.VerifiedPath);
        string receivedName = Path.GetFileName(file.ReceivedPath);
        if (verified == received)
        {
            return new Decision(SnapshotOutcome.Matched, WriteVerified: false, WriteReceived: false, Failure: null);
        }

        if (environment.Accept)
        {
            return new Decision(verified is null ? SnapshotOutcome.Created : SnapshotOutcome.Accepted, WriteVerified: true, WriteReceived: false, Failure: null);
        }

        if (verified is null && !environment.IsCi)
        {
            return new Decision(SnapshotOutcome.Created, WriteVerified: true, WriteReceived: false, Failure: null);
        }

        string message = verified is null
            ? $"""
               Snapshot {verifiedName} does not exist, and this is a CI run (CI=true), where a missing snapshot is a failure, not a new one.
               The text was written to {file.ReceivedPath}.
               Run the test outside CI to create {file.VerifiedPath}, review it, and commit it.
               Received:
               {Excerpt(received)}
               """
            : $"""
               Snapshot {verifiedName} does not match the received text.
               verified: {file.VerifiedPath}
               received: {file.ReceivedPath}
               If the change is intended, run the test again with {SnapshotEnvironment.AcceptVariable}=1, or move the received file over the verified one, and commit it.
               {UnifiedDiff.Create(verified.TrimEnd('\n'), received.TrimEnd('\n'), verifiedName, receivedName)}
               """;
        return new Decision(SnapshotOutcome.Matched, WriteVerified: false, WriteReceived: true,
            new SnapshotMismatchException(message, file.VerifiedPath, file.ReceivedPath));
    }

    private static string Excerpt(string text)
    {
        string[] lines = text.TrimEnd('\n').Split('\n');
        return lines.Length <= MaxTextLinesInMessage
            ? string.Join('\n', lines)
            : string.Join('\n', lines.Take(MaxTextLinesInMessage)) + $"\n… ({lines.Length - MaxTextLinesInMessage} more lines in the received file)";
    }

    private readonly record struct Decision(SnapshotOutcome Outcome, bool WriteVerified, bool WriteReceived, SnapshotMismatchException? Failure);
}
