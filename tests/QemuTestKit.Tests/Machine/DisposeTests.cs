using Microsoft.Extensions.Logging;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Machine;

/// <summary>Dispose cleans up everything and never hides the exception of the code inside <c>await using</c>.</summary>
public sealed class DisposeTests
{
    [Fact(Timeout = 60_000)]
    public async Task An_exception_inside_await_using_surfaces_unchanged_when_the_shutdown_is_abnormal()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logger = new ListLogger();
        var leaks = new LeakCheck();
        var own = new InvalidOperationException("the test's own failure");
        QemuMachine? outer = null;

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { Logger = logger });
            outer = machine;
            await machine.LaunchAsync(ct);
            leaks.Record(machine);

            // Killed from outside: QMP quit cannot succeed, so the shutdown in dispose is abnormal.
            Signals.Send(machine.Pid!.Value, Signals.SIGKILL);
            await machine.Qmp.Completion.ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);
            throw own;
        });

        Assert.Same(own, thrown);
        Assert.NotNull(outer);
        AbnormalShutdownException abnormal = Assert.IsType<AbnormalShutdownException>(outer.AbnormalShutdown);
        Assert.IsType<QmpConnectionException>(abnormal.InnerException);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Could not perform graceful shutdown", StringComparison.Ordinal));
        Assert.Equal(-9, outer.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task ShutdownAsync_still_throws_the_abnormal_end()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        Signals.Send(machine.Pid!.Value, Signals.SIGKILL);
        await machine.Qmp.Completion.ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);

        var ex = await Assert.ThrowsAsync<AbnormalShutdownException>(() => machine.ShutdownAsync(cancellationToken: ct));

        Assert.Same(ex, machine.AbnormalShutdown);
    }

    [Fact(Timeout = 60_000)]
    public async Task TempDir_of_a_machine_never_launched_is_removed_by_dispose()
    {
        TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
        using var baseDir = new ScratchDirectory();
        string tempDir;
        await using (QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path }))
        {
            tempDir = machine.TempDir;
            Assert.True(Directory.Exists(tempDir));
        }

        Assert.False(Directory.Exists(tempDir), $"'{tempDir}' was left behind");
        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task TempDir_read_after_shutdown_is_removed_by_dispose()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        await using (QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path }))
        {
            await machine.LaunchAsync(ct);
            await machine.ShutdownAsync(cancellationToken: ct);
            Assert.True(Directory.Exists(machine.TempDir));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
    }
}
