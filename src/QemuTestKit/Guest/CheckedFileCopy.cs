using System.Globalization;

namespace QemuTestKit.Guest;

/// <summary>
/// Runs one shell command line in the guest as a step of a file copy, the way its channel runs commands (the agent's
/// <c>guest-exec</c>, a framed command on the console), and returns its standard output.
/// </summary>
/// <param name="step">What the step does, for the error (e.g. <c>checking the file</c>).</param>
/// <param name="command">The command line for the guest's POSIX shell.</param>
/// <param name="offset">The byte offset the copy has reached, for the error.</param>
/// <param name="cancellationToken">Cancels the step.</param>
/// <exception cref="QemuGuestException">The command exited with a non-zero status, or the channel refused it; the message names the step.</exception>
/// <exception cref="TimeoutException">The command did not finish in the channel's time.</exception>
internal delegate Task<string> GuestShellStep(string step, string command, long offset, CancellationToken cancellationToken);

/// <summary>
/// The steps every checked file copy takes, whatever channel carries its bytes: the bytes land in
/// <c>&lt;file&gt;.qtk-part</c> (<see cref="PartSuffix"/>), the guest's <c>sha256sum</c> is compared with the host's
/// hash of the bytes that went by, and the file takes its name only once they match; on failure the part is removed
/// (in the guest, or on the host), so a copy never leaves half a file under either name.
/// </summary>
/// <remarks>One instance per copy: <paramref name="what"/> names the call in every error.</remarks>
/// <param name="what">The call, e.g. <c>CopyToGuestAsync('a' → guest '/tmp/a')</c>.</param>
/// <param name="shell">Runs a shell step in the guest the channel's way.</param>
/// <param name="evidence">Text to append to a failure (the console tail), or an empty string.</param>
internal sealed class CheckedFileCopy(string what, GuestShellStep shell, Func<string> evidence)
{
    /// <summary>The suffix of a file still being copied: it takes its real name only once its checksum matched.</summary>
    public const string PartSuffix = ".qtk-part";

    /// <summary>The guest's checksum tool (busybox and coreutils both have it); its output starts with the hex hash.</summary>
    public const string HashTool = "sha256sum";

    private const int BufferSize = 1024 * 1024;

    /// <summary>The hex hash in <see cref="HashTool"/>'s output (<c>&lt;hash&gt;  &lt;name&gt;</c>, or <c>&lt;hash&gt;  -</c>).</summary>
    public static string HashIn(string hashToolOutput) => hashToolOutput.Trim().Split(' ', 2)[0];

    /// <summary>The failure of a copy: names the call, says the problem, and carries the channel's evidence.</summary>
    public static QemuGuestException Failure(string what, string problem, string evidence = "", Exception? innerException = null) =>
        new($"{what} failed: {problem}.{evidence}", innerException);

    /// <summary>This copy's failure with <paramref name="problem"/>.</summary>
    public QemuGuestException Failed(string problem, Exception? innerException = null) => Failure(what, problem, evidence(), innerException);

    /// <summary>
    /// Copies <paramref name="hostPath"/> to <paramref name="guestPath"/>: <paramref name="send"/> writes the bytes to
    /// the part file, then the guest's checksum is compared and the part renamed; on a failure the part is removed.
    /// </summary>
    /// <param name="hostPath">The host file.</param>
    /// <param name="guestPath">The guest file to create or replace.</param>
    /// <param name="send">Writes all bytes of the stream (its length given) to the guest file named (the part), the channel's way.</param>
    /// <param name="cancellationToken">Cancels the copy.</param>
    /// <exception cref="FileNotFoundException"><paramref name="hostPath"/> does not exist.</exception>
    /// <exception cref="QemuGuestException">A step failed or the checksums differ; the message names both hashes.</exception>
    /// <exception cref="TimeoutException">A step did not finish in the channel's time.</exception>
    public async Task ToGuestAsync(string hostPath, string guestPath, Func<Stream, long, string, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        string part = guestPath + PartSuffix;
        using var source = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
        long size = source.Length;
        try
        {
            string sent;
            using (var hashing = new HashingStream(source))
            {
                await send(hashing, size, part, cancellationToken).ConfigureAwait(false);
                sent = hashing.Hash();
            }

            string arrived = HashIn(await shell("checking the file", $"{HashTool} {GuestShell.Quote(part)}", size, cancellationToken).ConfigureAwait(false));
            if (arrived != sent)
            {
                throw Failed($"the file arrived with SHA-256 {arrived}, sent {sent} ({size} bytes)");
            }

            await shell("renaming the checked file", $"mv -f {GuestShell.Quote(part)} {GuestShell.Quote(guestPath)}", size, cancellationToken).ConfigureAwait(false);
        }
        catch (QemuGuestException) when (!cancellationToken.IsCancellationRequested)
        {
            // The guest answers (the failure was its answer), so it can take the part away. A timeout or a cancel is not
            // followed by more commands: the channel may still be busy with the last one.
            await RemovePartAsync(part, size, cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Copies <paramref name="guestPath"/> to <paramref name="hostPath"/>: reads the guest file's size and checksum,
    /// lets <paramref name="receive"/> write its bytes to <c>&lt;hostPath&gt;.qtk-part</c>, compares, and renames; on any
    /// failure the host part is deleted and <paramref name="hostPath"/> is left as it was.
    /// </summary>
    /// <param name="guestPath">The guest file.</param>
    /// <param name="hostPath">The host file to create or replace (its folder is created).</param>
    /// <param name="receive">Writes the guest file's bytes (its size given) to the stream, the channel's way.</param>
    /// <param name="explainMismatch">
    /// Says more about a checksum mismatch, given the host part and the size (e.g. the first changed piece), or
    /// <see langword="null"/>: then the message asks whether the file changed during the copy.
    /// </param>
    /// <param name="cancellationToken">Cancels the copy.</param>
    /// <exception cref="QemuGuestException">The guest file does not exist, a step failed, or the checksums differ; the message names both hashes.</exception>
    /// <exception cref="TimeoutException">A step did not finish in the channel's time.</exception>
    public async Task FromGuestAsync(
        string guestPath,
        string hostPath,
        Func<long, Stream, CancellationToken, Task> receive,
        Func<string, long, CancellationToken, Task<string>>? explainMismatch,
        CancellationToken cancellationToken)
    {
        string file = GuestShell.Quote(guestPath);
        string[] facts = (await shell("reading the file's size and checksum (does it exist?)", $"wc -c < {file} && {HashTool} < {file}", 0, cancellationToken).ConfigureAwait(false))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (facts.Length != 2 || !long.TryParse(facts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            throw Failed($"the guest's size and checksum could not be read: '{string.Join(" / ", facts)}'");
        }

        string expected = HashIn(facts[1]);
        if (Path.GetDirectoryName(Path.GetFullPath(hostPath)) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        string temporary = hostPath + PartSuffix;
        try
        {
            string arrived;
            long length;
            using (var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, useAsync: true))
            using (var hashing = new HashingStream(target))
            {
                await receive(size, hashing, cancellationToken).ConfigureAwait(false);
                arrived = hashing.Hash();
                length = hashing.Length;
            }

            if (arrived != expected)
            {
                string why = explainMismatch is null
                    ? "did it change during the copy?"
                    : await explainMismatch(temporary, size, cancellationToken).ConfigureAwait(false);
                throw Failed($"the file arrived with SHA-256 {arrived} ({length} bytes), the guest has {expected} ({size} bytes); {why}");
            }

            File.Move(temporary, hostPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Removes the guest's part file after a failed copy; best effort, the copy's own failure is what the caller sees.</summary>
    private async Task RemovePartAsync(string part, long offset, CancellationToken cancellationToken)
    {
        try
        {
            await shell("removing the unchecked copy", $"rm -f {GuestShell.Quote(part)}", offset, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is QemuGuestException or TimeoutException or OperationCanceledException)
        {
            // Nothing more to do: the caller's exception already says the copy failed, and the part never takes the real name.
        }
    }
}
