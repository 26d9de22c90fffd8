using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace QemuTestKit.Guest;

/// <summary>
/// File copies over the serial console with busybox tools, in pieces of <see cref="ChunkSize"/> bytes, each checked
/// with SHA-256, and the whole file checked again on arrival.
/// </summary>
/// <remarks>
/// Into the guest the bytes go raw (<c>stty raw -echo</c>, then <c>head -c</c>): every byte value passes a raw terminal
/// unchanged, and raw is about twice as fast as base64 on the emulated UART's slow receive side. Out of the guest they
/// come as base64 (<c>dd | base64</c>), because the guest's output is text to the console. A piece is written to
/// <c>&lt;file&gt;.qtk-part</c> and the file takes its name only once the whole checksum matched.
/// </remarks>
internal sealed class ConsoleFileChannel(QemuConsole console, QemuGuestOptions options) : IGuestFileChannel
{
    /// <summary>The piece size: a fraction of the tty's buffer limits, and a piece's base64 (350 KB) stays small on the console.</summary>
    public const int ChunkSize = 256 * 1024;

    private const int BlockSize = 64 * 1024;

    public string Name => "console";

    public async Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken)
    {
        string what = $"CopyToGuestAsync('{hostPath}' → guest '{guestPath}')";
        string part = GuestShell.Quote(guestPath + ".qtk-part");
        using var source = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, BlockSize, useAsync: true);
        long size = source.Length;
        await RunAsync(what, $": > {part}", "creating the file in the guest (does its folder exist?)", 0, cancellationToken).ConfigureAwait(false);

        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[ChunkSize];
        long offset = 0;
        while (offset < size)
        {
            int length = await source.ReadAtLeastAsync(buffer, (int)Math.Min(ChunkSize, size - offset), throwOnEndOfStream: true, cancellationToken).ConfigureAwait(false);
            ReadOnlyMemory<byte> piece = buffer.AsMemory(0, length);
            whole.AppendData(piece.Span);
            string guestHash = await SendPieceAsync(what, part, piece, offset, cancellationToken).ConfigureAwait(false);
            string hostHash = Convert.ToHexStringLower(SHA256.HashData(piece.Span));
            if (guestHash != hostHash)
            {
                throw Failed(what, $"bytes {offset}–{offset + length - 1} arrived changed (SHA-256 in the guest {guestHash}, sent {hostHash})");
            }

            offset += length;
        }

        string expected = Convert.ToHexStringLower(whole.GetHashAndReset());
        string arrived = FirstWord(await RunAsync(what, $"sha256sum {part}", "checking the file", size, cancellationToken).ConfigureAwait(false));
        if (arrived != expected)
        {
            throw Failed(what, $"the file arrived with SHA-256 {arrived}, sent {expected} ({size} bytes)");
        }

        await RunAsync(what, $"mv -f {part} {GuestShell.Quote(guestPath)}", "renaming the checked file", size, cancellationToken).ConfigureAwait(false);
    }

    public async Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken)
    {
        string what = $"CopyFromGuestAsync(guest '{guestPath}' → '{hostPath}')";
        string file = GuestShell.Quote(guestPath);
        string[] facts = (await RunAsync(what, $"wc -c < {file} && sha256sum < {file}", "reading the file's size and checksum (does it exist?)", 0, cancellationToken).ConfigureAwait(false))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (facts.Length != 2 || !long.TryParse(facts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            throw Failed(what, $"the guest's size and checksum could not be read: '{string.Join(" / ", facts)}'");
        }

        string expected = FirstWord(facts[1]);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(hostPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        string temporary = hostPath + ".qtk-part";
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, BlockSize, useAsync: true))
        {
            for (long offset = 0; offset < size; offset += ChunkSize)
            {
                int length = (int)Math.Min(ChunkSize, size - offset);
                string text = await RunAsync(what, $"dd if={file} bs={BlockSize} skip={offset / BlockSize} count={ChunkSize / BlockSize} 2>/dev/null | base64", "reading", offset, cancellationToken).ConfigureAwait(false);
                byte[] piece;
                try
                {
                    piece = Convert.FromBase64String(text);
                }
                catch (FormatException ex)
                {
                    throw new QemuGuestException($"{what} failed at byte offset {offset}: the console garbled the piece's base64 ({ex.Message}).\nConsole tail:\n{console.Tail()}", ex);
                }

                if (piece.Length != length)
                {
                    throw Failed(what, $"the piece at byte offset {offset} came with {piece.Length} bytes, expected {length} (did the file change during the copy?)");
                }

                whole.AppendData(piece);
                await target.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
            }
        }

        string arrived = Convert.ToHexStringLower(whole.GetHashAndReset());
        if (arrived != expected)
        {
            long bad = await FirstChangedPieceAsync(what, file, temporary, size, cancellationToken).ConfigureAwait(false);
            throw Failed(what, $"the file arrived with SHA-256 {arrived}, the guest has {expected} ({size} bytes); the first changed piece starts at byte offset {bad}");
        }

        File.Move(temporary, hostPath, overwrite: true);
    }

    /// <summary>Sends one piece raw and returns the SHA-256 the guest computed of what it received.</summary>
    private async Task<string> SendPieceAsync(string what, string part, ReadOnlyMemory<byte> piece, long offset, CancellationToken cancellationToken)
    {
        string id = Guid.NewGuid().ToString("N")[..12];

        // The quotes split the marker in the echoed command line; only the guest's echo prints it whole, and only after
        // the terminal is raw, so no byte sent after it is echoed or edited by the line discipline.
        string command = $"qtk_s=$(stty -g); stty raw -echo; echo \"__QTKR\"\"{id}\"; head -c {piece.Length} | tee -a {part} | sha256sum; stty \"$qtk_s\"";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.CopyChunkTimeout);
        Task<ConsoleExecResult> exec = console.ExecAsync(command, options.CopyChunkTimeout, cancellationToken);
        bool sent = false;
        try
        {
            await console.WaitForAsync(new Regex($"__QTKR{id}", RegexOptions.CultureInvariant), null, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            await console.SendBytesAsync(piece, deadline.Token).ConfigureAwait(false);
            sent = true;
            ConsoleExecResult result = await exec.ConfigureAwait(false);

            // The output starts with the ready marker; the checksum is the last line.
            return FirstWord(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (!sent)
            {
                // head is still waiting for the piece: give it bytes so the shell and its terminal settings come back.
                await TryAsync(() => console.SendBytesAsync(new byte[piece.Length])).ConfigureAwait(false);
            }

            throw new TimeoutException($"{what}: the piece at byte offset {offset} ({piece.Length} bytes) did not arrive within {options.CopyChunkTimeout.TotalSeconds:0} s (QemuGuestOptions.CopyChunkTimeout).\nConsole tail:\n{console.Tail()}", ex);
        }
        finally
        {
            // An abandoned exec would otherwise fault unobserved.
            _ = exec.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    private async Task<long> FirstChangedPieceAsync(string what, string file, string hostCopy, long size, CancellationToken cancellationToken)
    {
        using var copy = new FileStream(hostCopy, FileMode.Open, FileAccess.Read);
        byte[] buffer = new byte[ChunkSize];
        for (long offset = 0; offset < size; offset += ChunkSize)
        {
            int length = await copy.ReadAtLeastAsync(buffer, (int)Math.Min(ChunkSize, size - offset), throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            string guest = FirstWord(await RunAsync(what, $"dd if={file} bs={BlockSize} skip={offset / BlockSize} count={ChunkSize / BlockSize} 2>/dev/null | sha256sum", "checking a piece", offset, cancellationToken).ConfigureAwait(false));
            if (guest != Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length))))
            {
                return offset;
            }
        }

        return 0;
    }

    /// <summary>Runs a guest command that must succeed; a failure names the step, the file and the byte offset.</summary>
    private async Task<string> RunAsync(string what, string command, string step, long offset, CancellationToken cancellationToken)
    {
        ConsoleExecResult result;
        try
        {
            result = await console.ExecAsync(command, options.CopyChunkTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{what}: {step} at byte offset {offset} did not finish within {options.CopyChunkTimeout.TotalSeconds:0} s (QemuGuestOptions.CopyChunkTimeout).\n{ex.Message}", ex);
        }

        return result.ExitCode == 0
            ? result.Output
            : throw Failed(what, $"{step} at byte offset {offset} failed: '{command}' exited with status {result.ExitCode}: {result.Output}");
    }

    private QemuGuestException Failed(string what, string problem) => new($"{what} failed: {problem}.\nConsole tail:\n{console.Tail()}");

    private static string FirstWord(string text) => text.Trim().Split(' ', 2)[0];

    private static async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is QemuConsoleException or ObjectDisposedException or IOException)
        {
            // The console is gone: nothing to restore.
        }
    }
}
