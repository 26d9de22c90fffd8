using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Internal;

namespace QemuTestKit.Qga;

// File transfer: guest-file-open/read/write/close in base64 blocks, the handle closed whatever happens.
public sealed partial class QgaClient
{
    /// <summary>
    /// Bytes per guest-file-read/write: 1 MiB is ~1.4 MB of base64 per message, far below the agent's limits
    /// (48 MiB per read, 64 MiB per JSON token) and big enough that round trips do not dominate.
    /// </summary>
    private const int FileBlockBytes = 1024 * 1024;

    /// <summary>Reads the whole guest file <paramref name="guestPath"/> (any size, binary-safe).</summary>
    /// <exception cref="QgaCommandException">The agent could not open or read it (e.g. it does not exist).</exception>
    /// <exception cref="QgaConnectionException">The channel ended.</exception>
    /// <exception cref="TimeoutException">A block got no reply within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<byte[]> ReadFileAsync(string guestPath, CancellationToken cancellationToken = default)
    {
        using var content = new MemoryStream();
        await ReadFileAsync(guestPath, content, cancellationToken).ConfigureAwait(false);
        return content.ToArray();
    }

    /// <summary>Copies the guest file <paramref name="guestPath"/> into <paramref name="destination"/>, block by block.</summary>
    /// <exception cref="QgaCommandException">The agent could not open or read it (e.g. it does not exist).</exception>
    /// <exception cref="QgaConnectionException">The channel ended.</exception>
    /// <exception cref="TimeoutException">A block got no reply within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task ReadFileAsync(string guestPath, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        long handle = await OpenFileAsync(guestPath, "r", cancellationToken).ConfigureAwait(false);
        try
        {
            var read = new JsonObject { ["handle"] = handle, ["count"] = FileBlockBytes };
            while (true)
            {
                JsonElement block = await ExecuteAsync("guest-file-read", read, cancellationToken).ConfigureAwait(false);
                if (block.TryGetProperty("buf-b64", out JsonElement data) && data.ValueKind == JsonValueKind.String)
                {
                    byte[] bytes = data.GetBytesFromBase64();
                    await destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                }

                bool eof = block.TryGetProperty("eof", out JsonElement e) && e.ValueKind == JsonValueKind.True;
                if (eof || block.GetProperty("count").GetInt64() == 0)
                {
                    break;
                }
            }
        }
        catch
        {
            await CloseFileQuietlyAsync(handle).ConfigureAwait(false);
            throw;
        }

        await CloseFileAsync(handle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates or replaces the guest file <paramref name="guestPath"/> with <paramref name="content"/> (any size, binary-safe).</summary>
    /// <exception cref="QgaCommandException">The agent could not open or write it (e.g. its folder does not exist).</exception>
    /// <exception cref="IOException">The agent accepted a block but wrote none of it (a full disk, for example).</exception>
    /// <exception cref="QgaConnectionException">The channel ended.</exception>
    /// <exception cref="TimeoutException">A block got no reply within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task WriteFileAsync(string guestPath, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        int offset = 0;
        return WriteFileCoreAsync(guestPath, _ =>
        {
            ReadOnlyMemory<byte> block = content[offset..Math.Min(content.Length, offset + FileBlockBytes)];
            offset += block.Length;
            return ValueTask.FromResult(block);
        }, cancellationToken);
    }

    /// <summary>Creates or replaces the guest file <paramref name="guestPath"/> with what is left in <paramref name="source"/>, block by block.</summary>
    /// <exception cref="QgaCommandException">The agent could not open or write it (e.g. its folder does not exist).</exception>
    /// <exception cref="IOException">The agent accepted a block but wrote none of it (a full disk, for example).</exception>
    /// <exception cref="QgaConnectionException">The channel ended.</exception>
    /// <exception cref="TimeoutException">A block got no reply within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WriteFileAsync(string guestPath, Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FileBlockBytes);
        try
        {
            await WriteFileCoreAsync(guestPath, async token =>
            {
                int read = await source.ReadAtLeastAsync(buffer.AsMemory(0, FileBlockBytes), FileBlockBytes, throwOnEndOfStream: false, token).ConfigureAwait(false);
                return buffer.AsMemory(0, read);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Opens, writes every block <paramref name="nextBlock"/> returns until an empty one, closes.</summary>
    private async Task WriteFileCoreAsync(string guestPath, Func<CancellationToken, ValueTask<ReadOnlyMemory<byte>>> nextBlock, CancellationToken cancellationToken)
    {
        long handle = await OpenFileAsync(guestPath, "w", cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                ReadOnlyMemory<byte> block = await nextBlock(cancellationToken).ConfigureAwait(false);
                if (block.IsEmpty)
                {
                    break;
                }

                // The agent may write less than it was given: send the rest again.
                while (!block.IsEmpty)
                {
                    ReadOnlyMemory<byte> pending = block;
                    JsonElement written = await ExecuteAsync(
                        "guest-file-write",
                        new WriterArguments(w =>
                        {
                            w.WriteNumber("handle"u8, handle);
                            w.WriteBase64String("buf-b64"u8, pending.Span);
                        }),
                        cancellationToken).ConfigureAwait(false);
                    long count = written.GetProperty("count").GetInt64();
                    if (count <= 0)
                    {
                        throw new IOException(
                            $"Guest agent {_name}: guest-file-write wrote none of {block.Length.ToString(CultureInfo.InvariantCulture)} bytes to '{guestPath}'; is the guest's disk full? {TailText()}");
                    }

                    block = block[(int)Math.Min(count, block.Length)..];
                }
            }
        }
        catch
        {
            await CloseFileQuietlyAsync(handle).ConfigureAwait(false);
            throw;
        }

        await CloseFileAsync(handle, cancellationToken).ConfigureAwait(false);
    }

    private async Task<long> OpenFileAsync(string guestPath, string mode, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(guestPath);
        JsonElement handle = await ExecuteAsync("guest-file-open", new JsonObject { ["path"] = guestPath, ["mode"] = mode }, cancellationToken).ConfigureAwait(false);
        return handle.GetInt64();
    }

    private Task<JsonElement> CloseFileAsync(long handle, CancellationToken cancellationToken) =>
        ExecuteAsync("guest-file-close", new JsonObject { ["handle"] = handle }, cancellationToken);

    /// <summary>
    /// Closes a handle after a failure without hiding it: the agent keeps open handles until it exits. Not bound to the
    /// caller's token, which may be what failed; bounded by the command timeout (or 30 s without one).
    /// </summary>
    private async Task CloseFileQuietlyAsync(long handle)
    {
        using var bound = new CancellationTokenSource(_options.CommandTimeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await CloseFileAsync(handle, bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is QgaCommandException or QgaConnectionException or TimeoutException or OperationCanceledException)
        {
            QgaLog.HandleNotClosed(_logger, _name, handle, ex);
        }
    }
}
