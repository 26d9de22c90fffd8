using QemuTestKit.Xunit;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The VM slot is free the moment QEMU exits, not after the class's cleanup (issue #18's suite overhead).</summary>
public sealed class VmSlotTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_slot_waiting_on_the_exit_is_held_until_QEMU_exits_and_free_before_anything_after_the_exit_runs()
    {
        VmLimiter.Lease lease = await VmLimiter.AcquireAsync(null, TestContext.Current.CancellationToken);
        var exited = new TaskCompletionSource();
        lease.ReleaseWhen(exited.Task);
        Assert.False(lease.IsReleased);

        // The cleanup after QEMU's exit is a continuation of the same exit: the slot must already be free when it runs.
        bool freeWhenCleanupRan = false;
        Task cleanup = exited.Task.ContinueWith(_ => freeWhenCleanupRan = lease.IsReleased, TestContext.Current.CancellationToken, TaskContinuationOptions.None, TaskScheduler.Default);
        exited.SetResult();
        await cleanup.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.True(lease.IsReleased);
        Assert.True(freeWhenCleanupRan);
        lease.Release(); // idempotent: gives nothing back twice
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failed_exit_wait_frees_the_slot_too()
    {
        VmLimiter.Lease lease = await VmLimiter.AcquireAsync(null, TestContext.Current.CancellationToken);
        lease.ReleaseWhen(Task.FromException(new TimeoutException("QEMU did not exit")));

        Assert.True(lease.IsReleased);
    }
}
