using System.Globalization;
using System.Reflection;

namespace QemuTestKit.Xunit;

/// <summary>
/// The process-wide bound on running VMs. Each class takes a slot before it boots and gives it back the moment its VM has
/// exited (<see cref="Lease.ReleaseWhen"/>), not after the cleanup that follows, so parallel classes never run more QEMUs
/// than the machine can hold and never wait for another class's artifact writing.
/// </summary>
internal static class VmLimiter
{
    public const string EnvironmentVariable = "QEMUTESTKIT_MAX_VMS";

    private const long BytesPerVm = 512L * 1024 * 1024;

    private static readonly Lock InitLock = new();
    private static SemaphoreSlim? s_slots;
    private static int s_running;

    public static int Limit { get; private set; }

    public static string LimitSource { get; private set; } = "";

    public static int Running => Volatile.Read(ref s_running);

    /// <summary>Waits for a slot; the returned lease gives it back once.</summary>
    public static async Task<Lease> AcquireAsync(Assembly? testAssembly, CancellationToken cancellationToken)
    {
        SemaphoreSlim slots = Slots(testAssembly);
        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref s_running);
        return new Lease(slots);
    }

    private static SemaphoreSlim Slots(Assembly? testAssembly)
    {
        lock (InitLock)
        {
            if (s_slots is null)
            {
                (Limit, LimitSource) = ComputeLimit(
                    Environment.GetEnvironmentVariable(EnvironmentVariable),
                    testAssembly?.GetCustomAttribute<QemuVmLimitAttribute>()?.MaxRunningVms,
                    Environment.ProcessorCount,
                    GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
                s_slots = new SemaphoreSlim(Limit, Limit);
            }

            return s_slots;
        }
    }

    internal static (int Limit, string Source) ComputeLimit(string? fromEnvironment, int? fromAttribute, int processors, long memoryBytes)
    {
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return int.TryParse(fromEnvironment, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? (n, EnvironmentVariable)
                : throw new InvalidOperationException($"{EnvironmentVariable} is '{fromEnvironment}'; it must be a positive integer (the most QEMU VMs that may run at once).");
        }

        if (fromAttribute is int fromAttr)
        {
            return fromAttr > 0
                ? (fromAttr, "[assembly: QemuVmLimit]")
                : throw new InvalidOperationException($"[assembly: QemuVmLimit({fromAttr})] must be at least 1.");
        }

        long byMemory = memoryBytes / BytesPerVm;
        return ((int)Math.Max(1, Math.Min(processors, byMemory)), "processors and memory");
    }

    internal sealed class Lease(SemaphoreSlim slots)
    {
        private int _released;

        /// <summary>Whether the slot was given back.</summary>
        public bool IsReleased => Volatile.Read(ref _released) != 0;

        /// <summary>
        /// Gives the slot back as soon as <paramref name="exited"/> completes (QEMU has exited), however it completes: what
        /// follows the exit (closing sockets, reading QEMU's log, removing files, writing artifacts) needs no slot, and the
        /// next class's boot waits for it. <see cref="Release"/> still gives it back if QEMU never exits.
        /// </summary>
        public void ReleaseWhen(Task exited) =>
            _ = exited.ContinueWith(static (_, lease) => ((Lease)lease!).Release(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        /// <summary>Gives the slot back; later calls do nothing.</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref s_running);
                slots.Release();
            }
        }
    }
}
