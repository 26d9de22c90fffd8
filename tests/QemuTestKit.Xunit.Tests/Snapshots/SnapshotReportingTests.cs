namespace QemuTestKit.Xunit.Tests.Snapshots;

/// <summary>What a user sees of a snapshot under <c>dotnet test</c>, and the token of the async assertion.</summary>
public sealed class SnapshotReportingTests
{
    [Fact]
    public void A_new_snapshot_is_announced_in_the_test_output_not_only_as_a_warning()
    {
        var file = new SnapshotFile(Path.GetTempPath(), "SnapshotReportingTests.example");

        Snapshot.Report(SnapshotOutcome.Created, file, TestContext.Current);

        string output = TestContext.Current.TestOutputHelper!.Output;
        Assert.Contains("New snapshot written to " + file.VerifiedPath, output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task MatchAsync_takes_a_token_and_a_cancelled_one_stops_it()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        // The verified file is committed beside this test, so a cancelled read is the only way this can fail.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Snapshot.MatchAsync("configured text", cancelled.Token));
        await Snapshot.MatchAsync("configured text", TestContext.Current.CancellationToken);
        await Snapshot.MatchAsync("configured text", name: null, scrubbers: null, cancellationToken: TestContext.Current.CancellationToken);
    }
}
