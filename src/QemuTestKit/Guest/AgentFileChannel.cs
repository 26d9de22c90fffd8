using QemuTestKit.Qga;

namespace QemuTestKit.Guest;

/// <summary>
/// File copies through the QEMU guest agent (<c>guest-file-*</c> in 1 MiB base64 blocks over virtio-serial): no shell
/// and no terminal in the way, and far faster than the serial console. Checked like every copy (<see cref="CheckedFileCopy"/>):
/// the guest's <c>sha256sum</c>, run through <c>guest-exec</c>, against the host's, and the file takes its name only once
/// it matched.
/// </summary>
/// <remarks>The client is read from the machine on every call, so a reconnected agent (after a restore) is the one used.</remarks>
internal sealed class AgentFileChannel(Func<QgaClient> agent) : IGuestFileChannel
{
    public string Name => "agent";

    public Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken)
    {
        QgaClient qga = agent();
        string what = $"CopyToGuestAsync('{hostPath}' → guest '{guestPath}', through the guest agent)";
        return Copy(qga, what).ToGuestAsync(
            hostPath,
            guestPath,
            (source, _, part, ct) => GuestStepAsync(what, "writing the file (does its folder exist?)", () => qga.WriteFileAsync(part, source, ct)),
            cancellationToken);
    }

    public Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken)
    {
        QgaClient qga = agent();
        string what = $"CopyFromGuestAsync(guest '{guestPath}' → '{hostPath}', through the guest agent)";
        return Copy(qga, what).FromGuestAsync(
            guestPath,
            hostPath,
            (_, target, ct) => GuestStepAsync(what, "reading the file", () => qga.ReadFileAsync(guestPath, target, ct)),
            explainMismatch: null,
            cancellationToken);
    }

    private static CheckedFileCopy Copy(QgaClient qga, string what) =>
        new(what, (step, command, _, ct) => ShellAsync(qga, what, step, command, ct), static () => string.Empty);

    /// <summary>Runs a shell command in the guest through <c>guest-exec</c>; it must exit 0. Returns its standard output.</summary>
    private static async Task<string> ShellAsync(QgaClient qga, string what, string step, string command, CancellationToken cancellationToken)
    {
        QgaExecResult result = await GuestStepAsync(what, step, () => qga.ExecAsync("/bin/sh", ["-c", command], cancellationToken: cancellationToken)).ConfigureAwait(false);
        return result.ExitCode == 0
            ? result.StandardOutputText
            : throw CheckedFileCopy.Failure(what, $"{step}: '{command}' exited with status {result.ExitCode}: {result.StandardErrorText.Trim()}{result.StandardOutputText.Trim()}");
    }

    /// <summary>An agent error becomes the toolkit's exception naming the step; timeouts and a dropped channel stay as they are.</summary>
    private static async Task<T> GuestStepAsync<T>(string what, string step, Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (QgaCommandException ex)
        {
            throw CheckedFileCopy.Failure(what, $"{step}: the agent answered {ex.ErrorClass}: {ex.Description}", innerException: ex);
        }
    }

    private static Task<bool> GuestStepAsync(string what, string step, Func<Task> action) =>
        GuestStepAsync(what, step, async () =>
        {
            await action().ConfigureAwait(false);
            return true;
        });
}
