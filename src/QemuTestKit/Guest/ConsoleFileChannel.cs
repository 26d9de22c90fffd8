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
/// come as base64 (<c>dd | base64</c>), because the guest's output is text to the console. The part file, the whole
/// file's checksum and the rename are <see cref="CheckedFileCopy"/>'s, with framed console commands as its shell steps.
/// </remarks>
internal sealed class ConsoleFileChannel(QemuConsole console, QemuGuestOptions options) : IGuestFileChannel
{
    /// <summary>The piece size: a fraction of the tty's buffer limits, and a piece's base64 (350 KB) stays small on the console.</summary>
    public const int ChunkSize = 256 * 1024;

    private const int BlockSize = 64 * 1024;

    public string Name => "console";

    public Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken)
    {
        string what = $"CopyToGuestAsync('{hostPath}' → guest '{guestPath}')";
        return Copy(what).ToGuestAsync(hostPath, guestPath, (source, size, part, ct) => SendAsync(what, source, size, GuestShell.Quote(part), ct), cancellationToken);
    }

    public Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken)
    {
        string what = $"CopyFromGuestAsync(guest '{guestPath}' → '{hostPath}')";
        string file = GuestShell.Quote(guestPath);
        return Copy(what).FromGuestAsync(
            guestPath,
            hostPath,
            (size, target, ct) => ReceiveAsync(what, file, size, target, ct),
            async (hostCopy, size, ct) => $"the first changed piece starts at byte offset {await FirstChangedPieceAsync(what, file, hostCopy, size, ct).ConfigureAwait(false)}",
            cancellationToken);
    }

    private CheckedFileCopy Copy(string what) => new(what, (step, command, offset, ct) => RunAsync(what, command, step, offset, ct), Evidence);

    /// <summary>Creates the part file and sends the file piece by piece, each piece checked on arrival.</summary>
    private async Task SendAsync(string what, Stream source, long size, string part, CancellationToken cancellationToken)
    {
        await RunAsync(what, $": > {part}", "creating the file in the guest (does its folder exist?)", 0, cancellationToken).ConfigureAwait(false);
        byte[] buffer = new byte[ChunkSize];
        long offset = 0;
        while (offset < size)
        {
            int length = await source.ReadAtLeastAsync(buffer, (int)Math.Min(ChunkSize, size - offset), throwOnEndOfStream: true, cancellationToken).ConfigureAwait(false);
            ReadOnlyMemory<byte> piece = buffer.AsMemory(0, length);
            string guestHash = await SendPieceAsync(what, part, piece, offset, cancellationToken).ConfigureAwait(false);
            string hostHash = Convert.ToHexStringLower(SHA256.HashData(piece.Span));
            if (guestHash != hostHash)
            {
                throw Failed(what, $"bytes {offset}–{offset + length - 1} arrived changed (SHA-256 in the guest {guestHash}, sent {hostHash})");
            }

            offset += length;
        }
    }

    /// <summary>Reads the file piece by piece as base64 and writes the bytes to <paramref name="target"/>.</summary>
    private async Task ReceiveAsync(string what, string file, long size, Stream target, CancellationToken cancellationToken)
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
                throw CheckedFileCopy.Failure(what, $"at byte offset {offset} the console garbled the piece's base64 ({ex.Message})", Evidence(), ex);
            }

            if (piece.Length != length)
            {
                throw Failed(what, $"the piece at byte offset {offset} came with {piece.Length} bytes, expected {length} (did the file change during the copy?)");
            }

            await target.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends one piece raw and returns the SHA-256 the guest computed of what it received.</summary>
    private async Task<string> SendPieceAsync(string what, string part, ReadOnlyMemory<byte> piece, long offset, CancellationToken cancellationToken)
    {
        string id = Guid.NewGuid().ToString("N")[..12];

        // The quotes split the marker in the echoed command line; only the guest's echo prints it whole, and only after
        // the terminal is raw, so no byte sent after it is echoed or edited by the line discipline.
        string command = $"qtk_s=$(stty -g); stty raw -echo; echo \"__QTKR\"\"{id}\"; head -c {piece.Length} | tee -a {part} | {CheckedFileCopy.HashTool}; stty \"$qtk_s\"";
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
            return CheckedFileCopy.HashIn(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
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
            string guest = CheckedFileCopy.HashIn(await RunAsync(what, $"dd if={file} bs={BlockSize} skip={offset / BlockSize} count={ChunkSize / BlockSize} 2>/dev/null | {CheckedFileCopy.HashTool}", "checking a piece", offset, cancellationToken).ConfigureAwait(false));
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

    private QemuGuestException Failed(string what, string problem) => CheckedFileCopy.Failure(what, problem, Evidence());

    private string Evidence() => "\nConsole tail:\n" + console.Tail();

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
