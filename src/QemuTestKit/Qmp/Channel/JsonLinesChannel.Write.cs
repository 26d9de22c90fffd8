using System.Net.Sockets;
using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

// The write path: one message at a time, whole.
internal sealed partial class JsonLinesChannel
{
    /// <summary>The byte the guest agent flushes its parser on (<see cref="MessageKind.FlushThenExecute"/>).</summary>
    public const byte FlushMarker = 0xFF;

    /// <summary>
    /// Writes one command message. The write lock's wait is bounded by <paramref name="timeout"/> and the caller's
    /// token; the bytes themselves are never cancelled half-way, since a torn message would corrupt the channel for every
    /// later command. A failed write ends the channel (which fails every pending call, this one too) and returns false.
    /// </summary>
    /// <param name="command">The command name.</param>
    /// <param name="arguments">See <see cref="CommandMessage.Write"/>.</param>
    /// <param name="id">The <c>"id"</c> to send, or null.</param>
    /// <param name="kind">How the message starts.</param>
    /// <param name="timeout">Bounds the wait for the write lock; null: no bound.</param>
    /// <param name="inOrder">A call matched by order: queued under the write lock, so the queue is in wire order.</param>
    /// <param name="otherEndCloses">The other end closes the channel after this command: its end of file is expected (<see cref="OtherEndClosesAfter"/>).</param>
    /// <param name="cancellationToken">Stops waiting for the write lock.</param>
    /// <returns>Whether the message was sent; false when the write failed and ended the channel.</returns>
    /// <exception cref="TimeoutException">Another write held the lock for longer than <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> WriteAsync(
        string command,
        object? arguments,
        long? id,
        MessageKind kind,
        TimeSpan? timeout,
        PendingCall? inOrder,
        bool otherEndCloses,
        CancellationToken cancellationToken)
    {
        if (!await _writeLock.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"{_protocol.Label}: could not send '{command}' within {timeout}: another write is stuck. {StallText()}");
        }

        try
        {
            ThrowIfClosed(command);
            byte[] message = CommandMessage.Write(
                _writeBuffer,
                _jsonWriter,
                kind == MessageKind.FlushThenExecute ? [FlushMarker] : [],
                kind == MessageKind.ExecuteOutOfBand ? "exec-oob"u8 : "execute"u8,
                command,
                arguments,
                _convertKeys,
                id);

            // The transcript and the log get the JSON alone: no marker, no newline.
            int jsonStart = kind == MessageKind.FlushThenExecute ? 1 : 0;
            var text = new ReadOnlyMemory<byte>(message, jsonStart, message.Length - jsonStart - 1);
            if (inOrder is not null)
            {
                // Queued in write order (we hold the write lock): QEMU answers in-band commands in that order.
                lock (_inOrderLock)
                {
                    ThrowIfClosed(command);
                    _inOrder.Enqueue(inOrder);
                }
            }

            _transcript.Add(QmpMessageDirection.Sent, text);
            _protocol.LogSent(new Utf8Text(text));
            if (otherEndCloses)
            {
                // Set before the bytes leave: the other end may close the channel before the write returns.
                _otherEndClosesAfter = command;
            }

            try
            {
                if (_socket is { } socket)
                {
                    // Straight to the socket: no stream layer, no flush.
                    for (int sent = 0; sent < message.Length;)
                    {
                        sent += await socket.SendAsync(message.AsMemory(sent), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                else
                {
                    await _stream.WriteAsync(message, CancellationToken.None).ConfigureAwait(false);
                    await _stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }

                return true;
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // A failed write leaves the stream in an unknown state: end the channel.
                Terminate(_protocol.ConnectionError($"{_protocol.Label}: sending '{command}' failed: {ex.Message}", ex), endOfFile: false);
                return false;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The last command sent after which the other end closes the channel (the guest agent's <c>guest-shutdown</c>), or null.</summary>
    public string? OtherEndClosesAfter => _otherEndClosesAfter;

    /// <summary>
    /// Runs <paramref name="send"/> (a write outside <see cref="WriteAsync"/>, such as passing a file descriptor) under
    /// the write lock, so it never lands inside a message; throws the connection exception when the channel has ended
    /// or <paramref name="send"/> fails.
    /// </summary>
    /// <param name="command">What is sent, for the message when the channel has ended.</param>
    /// <param name="what">What is done, for the message when <paramref name="send"/> fails.</param>
    /// <param name="send">The write.</param>
    /// <param name="cancellationToken">Stops waiting for the write lock.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WriteOtherAsync(string command, string what, Action send, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed(command);
            try
            {
                send();
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw _protocol.ConnectionError($"{_protocol.Label}: {what} failed: {ex.Message}", ex);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
