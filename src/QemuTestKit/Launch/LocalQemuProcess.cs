using System.Net;
using System.Runtime.InteropServices;

namespace QemuTestKit;

/// <summary>
/// A child process started with posix_spawn. A dedicated thread blocks in waitid until the child exits; it peeks
/// with WNOWAIT first and reaps under the lock, so <see cref="KillAsync"/> can never signal a recycled PID.
/// </summary>
internal sealed class LocalQemuProcess : IQemuProcess
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _reaped;

    public LocalQemuProcess(int pid)
    {
        Pid = pid;
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
        SendSignal(Libc.SIGKILL);
        return Task.CompletedTask;
    }

    /// <summary>Sends <paramref name="signal"/> unless the child has been reaped; returns whether it was sent.</summary>
    public bool SendSignal(int signal)
    {
        lock (_gate)
        {
            return !_reaped && Libc.kill(Pid!.Value, signal) == 0;
        }
    }

    public DnsEndPoint ResolveTcpEndpoint(int port) => new("127.0.0.1", port);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private unsafe void WaitForChild()
    {
        int pid = Pid!.Value;
        byte* info = stackalloc byte[Libc.OpaqueSize];
        while (Libc.waitid(Libc.P_PID, pid, info, Libc.WEXITED | Libc.WNOWAIT) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EINTR)
            {
                // ECHILD: someone else reaped it (a SIGCHLD handler set to reap all); the status is lost.
                break;
            }
        }

        lock (_gate)
        {
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

        _exited.TrySetResult();
    }
}
