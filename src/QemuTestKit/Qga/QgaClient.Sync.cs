using QemuTestKit.Internal;
using QemuTestKit.Qmp;

namespace QemuTestKit.Qga;

// Resynchronisation: the agent has no greeting; guest-sync-delimited with a random id marks where the stream is clean.
public sealed partial class QgaClient
{
    /// <summary>A sync attempt unanswered for this long is sent again (the agent may just have started); doubles up to 4 s.</summary>
    private static readonly TimeSpan FirstSyncRetry = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan MaxSyncRetry = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Resynchronises with the agent: flushes its parser with a 0xFF byte, sends <c>guest-sync-delimited</c> with a
    /// random id and skips everything until that id comes back after the 0xFF marker. An unanswered sync is sent again
    /// with a new id (the agent may not be up yet), so this also waits for an agent to start. Call it after the
    /// guest rebooted or was restored.
    /// </summary>
    /// <param name="timeout">Upper bound; <see langword="null"/> means <see cref="QgaClientOptions.CommandTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="QgaConnectionException">The channel is closed or ended.</exception>
    /// <exception cref="TimeoutException">The agent did not answer in time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task ResyncAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        TimeSpan? bound = timeout ?? _options.CommandTimeout;
        DateTime deadline = bound is { } b ? DateTime.UtcNow + b : DateTime.MaxValue;
        await _syncGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var sync = new QgaSync();
        try
        {
            lock (_syncLock)
            {
                _sync = sync;
            }

            TimeSpan retry = FirstSyncRetry;
            while (true)
            {
                long id = Random.Shared.NextInt64(1, 1L << 53); // exact in any JSON reader
                lock (_syncLock)
                {
                    sync.Ids.Add(id);
                }

                var arguments = new WriterArguments(w => w.WriteNumber("id"u8, id));
                await WriteAsync(SyncCommand, id: null, arguments, MessageKind.FlushThenExecute, RemainingOf(deadline), cancellationToken).ConfigureAwait(false);
                TimeSpan remaining = RemainingOf(deadline) ?? Timeout.InfiniteTimeSpan;
                TimeSpan wait = remaining == Timeout.InfiniteTimeSpan || remaining > retry ? retry : remaining;
                try
                {
                    await sync.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                    QgaLog.Synced(_logger, _name, id);
                    return;
                }
                catch (TimeoutException ex) when (DateTime.UtcNow >= deadline)
                {
                    throw new TimeoutException($"Guest agent {_name}: no answer to {SyncCommand} within {bound}; is qemu-ga running in the guest on this channel? {TailText()}", ex);
                }
                catch (TimeoutException)
                {
                    retry = retry * 2 > MaxSyncRetry ? MaxSyncRetry : retry * 2;
                }
            }
        }
        finally
        {
            lock (_syncLock)
            {
                if (_sync == sync)
                {
                    _sync = null;
                }
            }

            _syncGate.Release();
        }
    }

    private static TimeSpan? RemainingOf(DateTime deadline)
    {
        if (deadline == DateTime.MaxValue)
        {
            return null;
        }

        TimeSpan left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}
