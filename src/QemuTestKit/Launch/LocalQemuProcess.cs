using System.Net;
using System.Runtime.InteropServices;
using QemuTestKit.Internal;
using QemuTestKit.Sdk;

namespace QemuTestKit;

/// <summary>The orphan watchdog of one QEMU: its process id and the write end of the pipe it waits on.</summary>
internal readonly record struct OrphanWatchdog(int Pid, int WriteFd);

/// <summary>
/// A child process started with posix_spawn, leader of its own process group. A dedicated thread blocks in waitid until
/// the child exits; it peeks with WNOWAIT first and reaps under the lock, so <see cref="KillAsync"/> can never signal a
/// recycled PID or group. Kill and exit both end the whole group: a forking wrapper's QEMU and the watchdog go with it.
/// </summary>
internal sealed class LocalQemuProcess : IQemuProcess
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OrphanWatchdog? _watchdog;
    private bool _reaped;

    public LocalQemuProcess(int pid, OrphanWatchdog? watchdog = null)
    {
        Pid = pid;
        _watchdog = watchdog;
        var waiter = new Thread(WaitForChild) { IsBackground = true, Name = $"qemu-wait-{pid}" };
        waiter.Start();
    }

    public int? Pid { get; }

    public bool HasExited => _exited.Task.IsCompleted;

    public int? ExitCode { get; private set; }

    public int? Signal { get; private set; }

    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _exited.Task.WaitAsync(cancellationToken);

    public Task KillAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            // The group id is the child's pid, reserved until the child is reaped, so this cannot reach a stranger.
            if (!_reaped)
            {
                _ = Libc.kill(-Pid!.Value, Libc.SIGKILL);
            }
        }

        return Task.CompletedTask;
    }

    public DnsEndPoint ResolveTcpEndpoint(int port) => new("127.0.0.1", port);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private unsafe void WaitForChild()
    {
        int pid = Pid!.Value;
        byte* info = stackalloc byte[Libc.OpaqueSize];
        bool zombie = true;
        while (Libc.waitid(Libc.P_PID, pid, info, Libc.WEXITED | Libc.WNOWAIT) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EINTR)
            {
                // ECHILD: someone else reaped it (a SIGCHLD handler set to reap all); the status is lost.
                zombie = false;
                break;
            }
        }

        lock (_gate)
        {
            // What the child leaves in its group (a wrapper's QEMU, the watchdog) ends with it; the zombie leader still
            // holds the group id, so the group cannot be a recycled one. (Reaped by someone else, it holds nothing: the
            // watchdog then ends the group when its pipe closes below.)
            if (zombie)
            {
                _ = Libc.kill(-pid, Libc.SIGKILL);
            }

            int status;
            int result;
            do
            {
                result = Libc.waitpid(pid, &status, Libc.WNOHANG);
            }
            while (result < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR);

            if (result == pid)
            {
                int low = status & 0x7f;
                if (low == 0)
                {
                    ExitCode = (status >> 8) & 0xff;
                }
                else
                {
                    Signal = low;
                }
            }

            _reaped = true;
        }

        ReapWatchdog();
        _exited.TrySetResult();
    }

    private unsafe void ReapWatchdog()
    {
        if (_watchdog is not { } watchdog)
        {
            return;
        }

        // Killed with the group above (or, if it escaped that, ended by the end-of-file of its pipe): reap it.
        _ = Libc.close(watchdog.WriteFd);
        int status;
        while (Libc.waitpid(watchdog.Pid, &status, 0) < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR)
        {
        }
    }
}
