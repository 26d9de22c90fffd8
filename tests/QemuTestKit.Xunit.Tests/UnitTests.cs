using Xunit.v3;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The pieces of the extension that need no VM.</summary>
public sealed class UnitTests
{
    [Fact]
    public void Classes_of_a_profile_share_a_collection_unless_they_ask_for_parallelism()
    {
        ICollectionAttribute shared = new QemuMachineAttribute("tiny", "/src/BootTests.cs", 12);
        ICollectionAttribute parallel = new QemuMachineAttribute("tiny", "/src/BootTests.cs", 12) { Parallel = true };
        ICollectionAttribute other = new QemuMachineAttribute("tiny", "/src/BootTests.cs", 40) { Parallel = true };

        Assert.Equal("QemuTestKit: tiny", shared.Name);
        Assert.Equal("QemuTestKit: tiny (BootTests.cs:12)", parallel.Name);
        Assert.NotEqual(parallel.Name, other.Name);
        Assert.Equal(typeof(QemuVmCollection), shared.Type);
        Assert.Contains(typeof(IClassFixture<QemuVm>), typeof(QemuVmCollection).GetInterfaces());
    }

    [Fact]
    public void The_limit_comes_from_the_environment_then_the_assembly_then_cores_and_memory()
    {
        const long GiB = 1024L * 1024 * 1024;

        Assert.Equal((3, "QEMUTESTKIT_MAX_VMS"), VmLimiter.ComputeLimit("3", 5, 8, 64 * GiB));
        Assert.Equal((5, "[assembly: QemuVmLimit]"), VmLimiter.ComputeLimit(null, 5, 8, 64 * GiB));
        Assert.Equal(8, VmLimiter.ComputeLimit(null, null, 8, 64 * GiB).Limit);
        Assert.Equal(2, VmLimiter.ComputeLimit("", null, 8, 1 * GiB).Limit);
        Assert.Equal(1, VmLimiter.ComputeLimit(null, null, 8, 100L * 1024 * 1024).Limit);
        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => VmLimiter.ComputeLimit("many", null, 8, GiB));
        Assert.Contains("QEMUTESTKIT_MAX_VMS is 'many'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => VmLimiter.ComputeLimit(null, 0, 8, GiB));
    }

    [Fact]
    public void Artifacts_go_under_the_results_directory_the_run_was_given()
    {
        static string? None(string _) => null;

        Assert.Equal("/r/out", ArtifactsLocation.Root(["app.dll", "--results-directory", "/r/out", "--server"], None));
        Assert.Equal("/r/eq", ArtifactsLocation.Root(["app.dll", "--results-directory=/r/eq"], None));
        Assert.Equal("/cwd/TestResults", ArtifactsLocation.Root(["app.dll"], k => k == "DOTNET_CLI_TEST_COMMAND_WORKING_DIRECTORY" ? "/cwd" : null));
        Assert.Equal("/mine", ArtifactsLocation.Root(["app.dll", "--results-directory", "/r"], k => k == "QEMUTESTKIT_ARTIFACTS_DIRECTORY" ? "/mine" : null));
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "TestResults"), ArtifactsLocation.Root(["app.dll"], None));
        Assert.Equal("My.Tests.Boot_Tests_int_", ArtifactsLocation.SafeName("My.Tests.Boot Tests<int>"));
    }

    [Fact]
    public void Run_ids_sort_by_start_time_and_differ_by_process()
    {
        var early = new DateTime(2026, 12, 1, 9, 5, 3, 7, DateTimeKind.Utc);

        Assert.Equal("20261201T090503.007Z-4242", ArtifactsLocation.RunId(early, 4242));
        Assert.True(string.CompareOrdinal(ArtifactsLocation.RunId(early, 99999), ArtifactsLocation.RunId(early.AddMilliseconds(1), 1)) < 0);
        Assert.NotEqual(ArtifactsLocation.RunId(early, 1), ArtifactsLocation.RunId(early, 2));
        Assert.Equal(ArtifactsLocation.CurrentRunId, ArtifactsLocation.CurrentRunId);
        Assert.EndsWith("-" + Environment.ProcessId, ArtifactsLocation.CurrentRunId, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("qemutestkit", ArtifactsLocation.CurrentRunId, "My.Tests.Boot"), ArtifactsLocation.ForClass("My.Tests.Boot"), StringComparison.Ordinal);
    }

    [Fact]
    public void Attachments_are_named_after_the_class_and_the_test() =>
        Assert.Equal("My.Tests.BootTests.Shell_answers_x__1_.", VmFailureReport.AttachmentPrefix("My.Tests.BootTests", "Shell_answers(x: 1)"));

    [Theory]
    [InlineData(0, "exited with status 0")]
    [InlineData(1, "exited with status 1")]
    [InlineData(-9, "was killed by signal 9 (SIGKILL)")]
    [InlineData(-15, "was killed by signal 15 (SIGTERM)")]
    [InlineData(null, "is still running")]
    public void Exits_are_described_with_the_signal_name(int? exitCode, string expected) =>
        Assert.Equal(expected, VmFailureReport.DescribeExit(exitCode));
}
