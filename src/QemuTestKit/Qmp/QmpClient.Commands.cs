using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

// Commands: in-band, out-of-band and file descriptors; each reply matched by order or by id.
public sealed partial class QmpClient
{
    /// <summary>Runs <paramref name="command"/> and returns its <c>"return"</c> value.</summary>
    /// <param name="command">The QMP command, e.g. <c>query-status</c>.</param>
    /// <param name="arguments">
    /// <see langword="null"/>, a dictionary, an anonymous object (keys converted <c>_</c>→<c>-</c> when
    /// <see cref="QmpClientOptions.ConvertKeys"/>), or a <see cref="JsonElement"/>/<see cref="JsonNode"/> object (sent verbatim).
    /// </param>
    /// <param name="cancellationToken">Stops waiting; the command may still run in QEMU.</param>
    /// <exception cref="QmpCommandException">QEMU answered with an error (class, description, command).</exception>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonElement> ExecuteAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        ReturnOrThrow(command, await SendAsync(command, arguments, oob: false, cancellationToken).ConfigureAwait(false));

    /// <summary>Runs <paramref name="command"/> and returns the whole response (<c>{"return": …}</c> or <c>{"error": …}</c>, with <c>"id"</c>); never throws for an error reply.</summary>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<JsonElement> ExecuteRawAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        SendAsync(command, arguments, oob: false, cancellationToken);

    /// <summary>Runs <paramref name="command"/> out of band (<c>exec-oob</c>) and returns its <c>"return"</c> value.</summary>
    /// <exception cref="InvalidOperationException">OOB was not negotiated (<see cref="OobEnabled"/> is false).</exception>
    /// <exception cref="QmpCommandException">QEMU answered with an error.</exception>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    /// <exception cref="TimeoutException"><see cref="QmpClientOptions.CommandTimeout"/> expired.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonElement> ExecuteOobAsync(string command, object? arguments = null, CancellationToken cancellationToken = default) =>
        ReturnOrThrow(command, await SendAsync(command, arguments, oob: true, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Passes the file descriptor <paramref name="handle"/> to QEMU over SCM_RIGHTS (with one space byte, like the
    /// QEMUMachine's <c>send_fd_scm</c>). Follow it with <c>getfd</c> (<c>{"fdname": …}</c>) or <c>add-fd</c>, which take the
    /// descriptor QEMU received last. The handle stays open here: close it when QEMU has it.
    /// </summary>
    /// <exception cref="NotSupportedException">The connection is not a unix socket.</exception>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="QmpConnectionException">The connection is closed or sending failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task SendFileDescriptorAsync(SafeHandle handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (_channel.Socket is not { AddressFamily: AddressFamily.Unix } socket)
        {
            throw new NotSupportedException($"QMP {_name}: file descriptors can be passed only over a unix socket connection.");
        }

        cancellationToken = OrAmbient(cancellationToken);
        await _channel.WriteOtherAsync(
            "SCM_RIGHTS",
            "passing a file descriptor",
            () =>
            {
                UnixFdPassing.Send(socket, handle);
                long fd = handle.DangerousGetHandle();
                Transcript.Add(QmpMessageDirection.Sent, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"(SCM_RIGHTS: file descriptor {fd}, with one space byte)")));
                QmpLog.FdSent(_logger, _name, fd);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static JsonElement ReturnOrThrow(string command, JsonElement response) =>
        CommandMessage.ReturnOrThrow(command, response, static (command, errorClass, description, response) => new QmpCommandException(command, errorClass, description, response));

    private async Task<JsonElement> SendAsync(string command, object? arguments, bool oob, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        cancellationToken = OrAmbient(cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (oob && !OobEnabled)
        {
            throw new InvalidOperationException($"QMP {_name}: out-of-band execution was not negotiated; set QmpClientOptions.EnableOob (QEMU offers: {string.Join(", ", Greeting.Capabilities)}).");
        }

        var pending = new PendingCall(command, Interlocked.Increment(ref _nextId), sentWithId: oob || _sendIds, resumeInline: true);
        if (pending.SentWithId)
        {
            _channel.Register(pending);
        }

        TimeSpan? timeout = _options.CommandTimeout;
        try
        {
            // A failed write ended the connection, which failed this command too: its reply task says why.
            _ = await _channel.WriteAsync(
                command,
                arguments,
                pending.SentWithId ? pending.Id : null,
                oob ? MessageKind.ExecuteOutOfBand : MessageKind.Execute,
                timeout,
                inOrder: pending.SentWithId ? null : pending,
                otherEndCloses: false,
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _channel.Forget(pending);
            throw;
        }

        Task<JsonElement> reply = pending.Task;
        if (timeout is null)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return await reply.ConfigureAwait(false);
            }

            // Cheaper than WaitAsync on the hot path: one registration, no extra task between reply and caller.
            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static (state, token) => ThreadPool.UnsafeQueueUserWorkItem(static s => s.Request.TrySetCanceled(s.Token), (Request: (PendingCall)state!, Token: token), preferLocal: false),
                pending);
            try
            {
                return await reply.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _channel.Forget(pending);
                throw;
            }
            finally
            {
                await registration.DisposeAsync().ConfigureAwait(false);
            }
        }

        try
        {
            return await reply.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            _channel.Forget(pending);
            if (reply.IsCompletedSuccessfully)
            {
                return reply.Result;
            }

            throw new TimeoutException($"QMP {_name}: no reply to '{command}' within {timeout}. {StallText()}", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _channel.Forget(pending);
            if (reply.IsCompletedSuccessfully)
            {
                return reply.Result;
            }

            throw;
        }
    }
}
