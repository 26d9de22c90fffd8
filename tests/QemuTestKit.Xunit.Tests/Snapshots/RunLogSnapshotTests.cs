namespace QemuTestKit.Xunit.Tests.Snapshots;

/// <summary>The scrubbed logs of real runs, snapshotted beside this file: they must not change from run to run.</summary>
public sealed class RunLogSnapshotTests
{
    [Fact(Timeout = 120_000)]
    public async Task Qmp_transcript_of_a_short_session()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using var machine = new QemuMachine(QemuBinary);
        machine.SetMachine("none");
        await machine.LaunchAsync(ct);
        SnapshotValues values = SnapshotValues.FromMachine(machine);
        await machine.CommandAsync("query-name", cancellationToken: ct);

        // Taken before "quit": QEMU may send the SHUTDOWN event before or after quit's reply.
        string text = SnapshotText.QmpTranscript(machine.Qmp.Transcript, values);
        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.DoesNotContain(machine.Name, text, StringComparison.Ordinal);
        await Snapshot.MatchAsync(text, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task Qemu_log_of_a_launch_that_fails()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string image = Path.Combine(Path.GetTempPath(), $"qtk-missing-{Guid.NewGuid():N}", "disk.img");
        await using var machine = new QemuMachine(QemuBinary, new QemuMachineOptions { Args = ["-drive", $"file={image},format=raw"] });
        machine.SetMachine("none");

        var error = await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(ct));

        string text = SnapshotText.QemuLog(error.Output, new SnapshotValues { QemuBinary = QemuBinary });
        Assert.DoesNotContain(image, text, StringComparison.Ordinal);
        await Snapshot.MatchAsync(text, TestContext.Current.CancellationToken);
    }

    private static string QemuBinary => QemuBinaryLocator.Resolve(new QemuProfile("snapshot"));
}
