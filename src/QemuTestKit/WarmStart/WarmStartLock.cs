using System.Collections.Concurrent;

namespace QemuTestKit;

/// <summary>
/// One builder per saved state, across classes and processes: an in-process semaphore (waits without polling), then
/// an exclusive lock file (<see cref="FileShare.None"/> is an advisory <c>flock</c> on Linux, released by the kernel
/// if the process dies, so a crashed builder never blocks the others for good).
/// </summary>
internal sealed class WarmStartLock : IDisposable
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> s_local = new(StringComparer.Ordinal);
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(100);

    private readonly SemaphoreSlim _local;
    private readonly FileStream _file;

    private WarmStartLock(SemaphoreSlim local, FileStream file)
    {
        _local = local;
        _file = file;
    }

    /// <summary>Takes the lock, or returns null when <paramref name="timeout"/> passed first.</summary>
    public static async Task<WarmStartLock?> AcquireAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        SemaphoreSlim local = s_local.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        if (!await local.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        try
        {
            while (true)
            {
                try
                {
                    var file = new FileStream(path, WarmStartState.PrivateFileOptions(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                    return new WarmStartLock(local, file);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(s_poll, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    local.Release();
                    return null;
                }
            }
        }
        catch
        {
            local.Release();
            throw;
        }
    }

    public void Dispose()
    {
        _file.Dispose();
        _local.Release();
    }
}
