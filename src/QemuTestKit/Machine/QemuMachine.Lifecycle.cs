using QemuTestKit.Internal;
using QemuTestKit.Qmp;

namespace QemuTestKit;

// Shutdown, kill, wait, dispose and the cleanup that always runs (QEMUMachine's shutdown/_post_shutdown).
public sealed partial class QemuMachine
{
    private static readonly TimeSpan StopPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Stops QEMU and cleans up (QEMUMachine's <c>shutdown</c>). Soft: QMP <c>quit</c> (unless already issued), then wait up
    /// to <paramref name="timeout"/> (default 30 s); if that fails QEMU is killed and <see cref="AbnormalShutdownException"/>
    /// is thrown with the cause inside (and kept in <see cref="AbnormalShutdown"/>). A QEMU whose process is stopped
    /// (state T, e.g. by SIGSTOP) can neither quit nor exit: it is killed as soon as that is seen, without waiting out
    /// <paramref name="timeout"/>, and reported the same way. Hard: kill at once. Cleanup always runs: QMP closed,
    /// <see cref="Log"/> loaded, temp directory and sockets removed. A signal nobody sent is logged as a warning. Does
    /// nothing when not launched.
    /// </summary>
    /// <exception cref="AbnormalShutdownException">The graceful shutdown failed or QEMU was stopped; QEMU was killed.</exception>
    /// <exception cref="TimeoutException">QEMU did not exit within 60 s of SIGKILL.</exception>
    public Task ShutdownAsync(bool hard = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ShutdownCoreAsync(hard, timeout, quitIssued: false, cancellationToken);

    private async Task ShutdownCoreAsync(bool hard, TimeSpan? timeout, bool quitIssued, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!_launched)
            {
                return;
            }

            _quitIssued |= quitIssued;

            try
            {
                if (hard)
                {
                    _userKilled = true;
                    await HardShutdownAsync().ConfigureAwait(false);
                }
                else
                {
                    await DoShutdownAsync(timeout ?? TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await PostShutdownAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Kills QEMU, waits for it to exit and cleans up (QEMUMachine's <c>kill</c>): <c>ShutdownAsync(hard: true)</c>.</summary>
    /// <exception cref="TimeoutException">QEMU did not exit within 60 s of SIGKILL.</exception>
    public Task KillAsync(CancellationToken cancellationToken = default) => ShutdownAsync(hard: true, cancellationToken: cancellationToken);

    /// <summary>
    /// Waits for the guest to power QEMU off, then cleans up (QEMUMachine's <c>wait</c>): no <c>quit</c> is sent; after
    /// <paramref name="timeout"/> (default 30 s), or as soon as QEMU is seen stopped (state T), QEMU is killed and
    /// <see cref="AbnormalShutdownException"/> thrown.
    /// </summary>
    /// <exception cref="AbnormalShutdownException">QEMU did not exit in time, or was stopped, and was killed.</exception>
    public Task WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ShutdownCoreAsync(hard: false, timeout, quitIssued: true, cancellationToken);

    /// <summary>
    /// Shuts the machine down (soft, 30 s) and removes its folders, also when it was never launched (reading
    /// <see cref="TempDir"/> creates one), like leaving Python's <c>with</c> block, with one deviation: QEMU's Python
    /// QEMUMachine's <c>__exit__</c> raises <c>AbnormalShutdown</c>; this does not throw
    /// <see cref="AbnormalShutdownException"/> but logs it as a warning through the logger and keeps it in
    /// <see cref="AbnormalShutdown"/>. Under <c>await using</c> an exception from dispose would replace the exception the
    /// test itself threw, hiding the real failure. Call <see cref="ShutdownAsync"/> to have it thrown.
    /// </summary>
    /// <exception cref="TimeoutException">QEMU did not exit within 60 s of SIGKILL.</exception>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ShutdownAsync().ConfigureAwait(false);
        }
        catch (AbnormalShutdownException ex)
        {
            MachineLog.AbnormalShutdown(_logger, ex, Name, ex.Message);
        }

        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!_launched)
            {
                RemoveDirectories();
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task DoShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await SoftShutdownAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            MachineLog.SoftShutdownFailed(_logger, ex, Name, ex.Message);
            await HardShutdownAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            AbnormalShutdown = new AbnormalShutdownException($"Could not perform graceful shutdown of VM {Name}: {ex.Message}", ex);
            throw AbnormalShutdown;
        }
    }

    private async Task SoftShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }

        // A stopped QEMU can neither answer quit nor exit: end the wait as soon as that is seen.
        Task<ProcessStat?> stopped = WatchForStopAsync(deadline);
        try
        {
            if (_qmp is not null)
            {
                try
                {
                    if (!_quitIssued)
                    {
                        await QmpAsync("quit", cancellationToken: deadline.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    await CloseQmpConnectionAsync().ConfigureAwait(false);
                }
            }

            await _process!.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The deadline is cancelled, so the watch ends now; it never throws.
            if (await stopped.ConfigureAwait(false) is { } stat)
            {
                throw new TimeoutException(
                    $"QEMU (pid {stat.Pid}) is {stat.StateText} (a debugger, a shell's job control or a test sent it SIGSTOP): it could not "
                    + $"{(_quitIssued ? "exit after quit" : "quit")}, so it was killed without waiting out the {timeout.TotalSeconds:0.###} s shutdown timeout.",
                    ex);
            }

            throw new TimeoutException($"QEMU did not exit within {timeout.TotalSeconds:0.###} s of {(_quitIssued ? "quit" : "the shutdown request")}.", ex);
        }
        finally
        {
            await deadline.CancelAsync().ConfigureAwait(false);
            await ((Task)stopped).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Polls QEMU's process state until <paramref name="deadline"/> ends; when QEMU is stopped, cancels the deadline and
    /// returns that state. A /proc read every <see cref="StopPollInterval"/> is negligible next to a shutdown.
    /// </summary>
    private async Task<ProcessStat?> WatchForStopAsync(CancellationTokenSource deadline)
    {
        if (_process is not { Pid: { } pid })
        {
            return null; // runs elsewhere (a container): no /proc to read
        }

        try
        {
            while (!deadline.IsCancellationRequested)
            {
                if (ProcessStat.Read(pid) is { IsStopped: true } stat && !_process.HasExited)
                {
                    await deadline.CancelAsync().ConfigureAwait(false);
                    return stat;
                }

                await Task.Delay(StopPollInterval, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    private async Task HardShutdownAsync()
    {
        // Closing QMP first makes the end of the connection ours, not a "connection lost" for the client to report.
        await CloseQmpConnectionAsync().ConfigureAwait(false);
        await _process!.KillAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"QEMU (pid {_process.Pid}) did not exit within 60 s of SIGKILL.", ex);
        }
    }

    private async Task CloseQmpConnectionAsync()
    {
        QmpClient? qmp = _qmp;
        _qmp = null;
        if (qmp is null)
        {
            return;
        }

        bool expectedEnd = _userKilled || _quitIssued || qmp.QuitIssued;
        await qmp.CloseAsync().ConfigureAwait(false);
        if (!expectedEnd && qmp.Completion.IsFaulted)
        {
            MachineLog.QmpCloseFailed(_logger, Name, qmp.Completion.Exception?.InnerException?.Message ?? "connection lost");
        }
    }

    /// <summary>Cleanup after QEMU exited, or after a failed launch; every step runs even if another fails.</summary>
    private async Task PostShutdownAsync()
    {
        await Step(CloseQmpConnectionAsync).ConfigureAwait(false);
        await Step(CloseGuestAgentAsync).ConfigureAwait(false);
        await Step(async () =>
        {
            if (_listener is not null)
            {
                await _listener.DisposeAsync().ConfigureAwait(false);
                _listener = null;
            }
        }).ConfigureAwait(false);
        await Step(async () =>
        {
            if (_console is not null)
            {
                // QEMU closes the socket when it exits; read to that point so the last lines are kept.
                if (_process is { HasExited: true })
                {
                    await _console.DrainAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                }

                await _console.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await Step(async () =>
        {
            if (_qemuLogPath is not null && File.Exists(_qemuLogPath))
            {
                _iolog = await File.ReadAllTextAsync(_qemuLogPath).ConfigureAwait(false);
            }

            _qemuLogPath = null;
        }).ConfigureAwait(false);
        await Step(() =>
        {
            while (_removeFiles.Count > 0)
            {
                string file = _removeFiles[^1];
                _removeFiles.RemoveAt(_removeFiles.Count - 1);
                if (Path.GetDirectoryName(file) is { } dir && Directory.Exists(dir))
                {
                    File.Delete(file);
                }
            }

            _dirs.Remove();
            return Task.CompletedTask;
        }).ConfigureAwait(false);

        if (_process is { HasExited: true, Signal: { } signal } && !(_userKilled && signal == Libc.SIGKILL))
        {
            MachineLog.UnexpectedSignal(_logger, Name, signal, CommandLineText.Format(_fullArgs));
        }

        if (_process is not null)
        {
            await Step(() => _process.DisposeAsync().AsTask()).ConfigureAwait(false);
        }

        _quitIssued = false;
        _userKilled = false;
        _launched = false;

        async Task Step(Func<Task> step)
        {
            try
            {
                await step().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Cleanup must run every step; failures are logged, as QEMU's Python QEMUMachine does.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                MachineLog.CleanupFailed(_logger, ex, Name, ex.Message);
            }
        }
    }

    /// <summary>Removes the folders of a machine that is not running; a failure is logged, since cleanup must not throw.</summary>
    private void RemoveDirectories()
    {
        try
        {
            _dirs.Remove();
        }
        catch (IOException ex)
        {
            MachineLog.CleanupFailed(_logger, ex, Name, ex.Message);
        }
    }
}
