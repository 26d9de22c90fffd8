using System.Collections.Concurrent;

namespace QemuTestKit;

/// <summary>
/// One thread that lives as long as the process and starts every local QEMU. The orphan guard
/// (<c>setpriv --pdeathsig KILL</c>) fires when the <em>thread</em> that created the child ends, not the process:
/// a child spawned from a thread-pool thread would be killed when the pool retires that thread.
/// </summary>
internal static class SpawnThread
{
    private static readonly BlockingCollection<Action> s_work = CreateThread();

    public static Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        s_work.Add(() =>
        {
            try
            {
                done.TrySetResult(work());
            }
#pragma warning disable CA1031 // Every failure goes back to the caller; the thread must survive.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                done.TrySetException(ex);
            }
        });
        return done.Task;
    }

    private static BlockingCollection<Action> CreateThread()
    {
        var work = new BlockingCollection<Action>();
        var thread = new Thread(() =>
        {
            foreach (Action item in work.GetConsumingEnumerable())
            {
                item();
            }
        })
        {
            IsBackground = true,
            Name = "qemutestkit-spawn",
        };
        thread.Start();
        return work;
    }
}
