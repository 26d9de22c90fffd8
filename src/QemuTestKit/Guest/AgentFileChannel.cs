using System.Globalization;
using System.Security.Cryptography;
using QemuTestKit.Qga;

namespace QemuTestKit.Guest;

/// <summary>
/// File copies through the QEMU guest agent (<c>guest-file-*</c> in 1 MiB base64 blocks over virtio-serial): no shell
/// and no terminal in the way, and far faster than the serial console. Checked like the console's copies: the guest's
/// <c>sha256sum</c> (run through <c>guest-exec</c>) against the host's, and the file takes its name only once it matched.
/// </summary>
/// <remarks>The client is read from the machine on every call, so a reconnected agent (after a restore) is the one used.</remarks>
internal sealed class AgentFileChannel(Func<QgaClient> agent) : IGuestFileChannel
{
    private const int BlockSize = 1024 * 1024;

    public string Name => "agent";

    public async Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken)
    {
        string what = $"CopyToGuestAsync('{hostPath}' → guest '{guestPath}', through the guest agent)";
        string part = guestPath + ".qtk-part";
        QgaClient qga = agent();
        string expected;
        long size;
        using (var source = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, BlockSize, useAsync: true))
        {
            size = source.Length;
            using var hashing = new HashingStream(source);
            await GuestStepAsync(what, "writing the file (does its folder exist?)", () => qga.WriteFileAsync(part, hashing, cancellationToken)).ConfigureAwait(false);
            expected = hashing.Hash();
        }

        string arrived = FirstWord(await ShellAsync(qga, what, "checking the file", $"sha256sum {GuestShell.Quote(part)}", cancellationToken).ConfigureAwait(false));
        if (arrived != expected)
        {
            await ShellAsync(qga, what, "removing the changed copy", $"rm -f {GuestShell.Quote(part)}", cancellationToken).ConfigureAwait(false);
            throw new QemuGuestException($"{what} failed: the file arrived with SHA-256 {arrived}, sent {expected} ({size} bytes).");
        }

        await ShellAsync(qga, what, "renaming the checked file", $"mv -f {GuestShell.Quote(part)} {GuestShell.Quote(guestPath)}", cancellationToken).ConfigureAwait(false);
    }

    public async Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken)
    {
        string what = $"CopyFromGuestAsync(guest '{guestPath}' → '{hostPath}', through the guest agent)";
        QgaClient qga = agent();
        string file = GuestShell.Quote(guestPath);
        string[] facts = (await ShellAsync(qga, what, "reading the file's size and checksum (does it exist?)", $"wc -c < {file} && sha256sum < {file}", cancellationToken).ConfigureAwait(false))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (facts.Length != 2 || !long.TryParse(facts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            throw new QemuGuestException($"{what} failed: the guest's size and checksum could not be read: '{string.Join(" / ", facts)}'.");
        }

        string expected = FirstWord(facts[1]);
        if (Path.GetDirectoryName(Path.GetFullPath(hostPath)) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        string temporary = hostPath + ".qtk-part";
        string arrived;
        long length;
        try
        {
            using (var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, BlockSize, useAsync: true))
            using (var hashing = new HashingStream(target))
            {
                await GuestStepAsync(what, "reading the file", () => qga.ReadFileAsync(guestPath, hashing, cancellationToken)).ConfigureAwait(false);
                arrived = hashing.Hash();
                length = hashing.Length;
            }

            if (arrived != expected)
            {
                throw new QemuGuestException($"{what} failed: the file arrived with SHA-256 {arrived} ({length} bytes), the guest has {expected} ({size} bytes); did it change during the copy?");
            }

            File.Move(temporary, hostPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Runs a shell command in the guest through <c>guest-exec</c>; it must exit 0. Returns its standard output.</summary>
    private static async Task<string> ShellAsync(QgaClient qga, string what, string step, string command, CancellationToken cancellationToken)
    {
        QgaExecResult result = await GuestStepAsync(what, step, () => qga.ExecAsync("/bin/sh", ["-c", command], cancellationToken: cancellationToken)).ConfigureAwait(false);
        return result.ExitCode == 0
            ? result.StandardOutputText
            : throw new QemuGuestException($"{what} failed: {step}: '{command}' exited with status {result.ExitCode}: {result.StandardErrorText.Trim()}{result.StandardOutputText.Trim()}");
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
            throw new QemuGuestException($"{what} failed: {step}: the agent answered {ex.ErrorClass}: {ex.Description}", ex);
        }
    }

    private static Task<bool> GuestStepAsync(string what, string step, Func<Task> action) =>
        GuestStepAsync(what, step, async () =>
        {
            await action().ConfigureAwait(false);
            return true;
        });

    private static string FirstWord(string text) => text.Trim().Split(' ', 2)[0];
}
