using System.Text.RegularExpressions;

namespace QemuTestKit.Xunit.Tests.Snapshots;

/// <summary>
/// The snapshot assertion against a temporary folder standing in for the test's source folder, with
/// injected settings and environment, so these tests neither touch the repository nor depend on how
/// the process was started (CI or not, accept mode or not).
/// </summary>
[SnapshotScrubbers(nameof(ClassLevelScrubbers))]
public sealed class SnapshotAssertionTests : IDisposable
{
    private static readonly SnapshotEnvironment s_local = new(Accept: false, IsCi: false);
    private static readonly SnapshotEnvironment s_ci = new(Accept: false, IsCi: true);
    private static readonly SnapshotEnvironment s_accept = new(Accept: true, IsCi: false);

    private readonly string _folder = Directory.CreateTempSubdirectory("qtk-snapshot-tests-").FullName;

    public static IEnumerable<Scrubber> ClassLevelScrubbers =>
    [
        Scrubber.Replace("level:class", "{ClassLevel}"),
        Scrubber.Replace("{CallLevel}->class", "{CallThenClass}"),
        Scrubber.Replace("{CallThenClass}->global", "order:call,class"),
    ];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Files_are_named_class_dot_method_beside_the_source()
    {
        SnapshotFile file = Prepare("text").File;

        Assert.Equal(_folder, file.Directory);
        Assert.Equal(Path.Combine(_folder, "SnapshotAssertionTests.Files_are_named_class_dot_method_beside_the_source.verified.txt"), file.VerifiedPath);
        Assert.Equal(Path.Combine(_folder, "SnapshotAssertionTests.Files_are_named_class_dot_method_beside_the_source.received.txt"), file.ReceivedPath);
    }

    [Theory]
    [InlineData("x86_64", 2)]
    [InlineData("arm/v7 big", -1)]
    public void Theory_arguments_and_a_name_are_part_of_the_file_name(string arch, int count)
    {
        SnapshotFile file = Prepare("text", name: "console").File;

        string expected = $"SnapshotAssertionTests.Theory_arguments_and_a_name_are_part_of_the_file_name_arch={arch.Replace('/', '-').Replace(' ', '-')}_count={count}.console";
        Assert.Equal(expected, file.Stem);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a b")]
    public void A_name_that_cannot_be_a_file_name_is_refused(string name)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => Prepare("text", name: name));

        Assert.Contains("cannot be part of a file name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_source_folder_is_an_error_that_names_the_fix()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            Snapshot.Prepare("text", null, null, Path.Combine(_folder, "gone", "X.cs"), TestContext.Current, new SnapshotSettings()));

        Assert.Contains("DeterministicSourcePaths", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_snapshot_outside_CI_is_created_and_passes()
    {
        SnapshotFile file = Prepare("line 1\r\nline 2").File;

        SnapshotOutcome outcome = SnapshotVerifier.Verify("line 1\r\nline 2", file, s_local);

        Assert.Equal(SnapshotOutcome.Created, outcome);
        Assert.Equal("line 1\nline 2\n", File.ReadAllText(file.VerifiedPath));
        Assert.False(File.Exists(file.ReceivedPath));
    }

    [Fact]
    public void A_missing_snapshot_in_CI_fails_and_writes_the_received_file()
    {
        SnapshotFile file = Prepare("new text").File;

        var error = Assert.Throws<SnapshotMismatchException>(() => SnapshotVerifier.Verify("new text", file, s_ci));

        Assert.False(File.Exists(file.VerifiedPath));
        Assert.Equal("new text\n", File.ReadAllText(file.ReceivedPath));
        Assert.Equal(file.ReceivedPath, error.ReceivedFilePath);
        Assert.Contains("CI run", error.Message, StringComparison.Ordinal);
        Assert.Contains("new text", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mismatch_writes_the_received_file_and_fails_with_a_unified_diff()
    {
        SnapshotFile file = Prepare("x").File;
        File.WriteAllText(file.VerifiedPath, "-m 256\n-smp 1\n-nodefaults\n");

        var error = Assert.Throws<SnapshotMismatchException>(() => SnapshotVerifier.Verify("-m 512\n-smp 1\n-nodefaults", file, s_local));

        Assert.Equal("-m 512\n-smp 1\n-nodefaults\n", File.ReadAllText(file.ReceivedPath));
        Assert.Equal("-m 256\n-smp 1\n-nodefaults\n", File.ReadAllText(file.VerifiedPath));
        string verifiedName = Path.GetFileName(file.VerifiedPath);
        string receivedName = Path.GetFileName(file.ReceivedPath);
        Assert.Contains($"--- {verifiedName}\n+++ {receivedName}\n@@ -1,3 +1,3 @@\n--m 256\n+-m 512\n -smp 1\n -nodefaults", error.Message, StringComparison.Ordinal);
        Assert.Contains("QEMUTESTKIT_ACCEPT=1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mismatch_fails_the_same_way_through_the_async_path()
    {
        SnapshotFile file = Prepare("x").File;
        await File.WriteAllTextAsync(file.VerifiedPath, "old\n", TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<SnapshotMismatchException>(() =>
            SnapshotVerifier.VerifyAsync("new", file, s_local, TestContext.Current.CancellationToken));

        Assert.Equal("new\n", await File.ReadAllTextAsync(file.ReceivedPath, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Accept_mode_replaces_the_verified_file_and_removes_the_received_one()
    {
        SnapshotFile file = Prepare("x").File;
        File.WriteAllText(file.VerifiedPath, "old\n");
        Assert.Throws<SnapshotMismatchException>(() => SnapshotVerifier.Verify("new", file, s_local));
        Assert.True(File.Exists(file.ReceivedPath));

        SnapshotOutcome outcome = SnapshotVerifier.Verify("new", file, s_accept);

        Assert.Equal(SnapshotOutcome.Accepted, outcome);
        Assert.Equal("new\n", File.ReadAllText(file.VerifiedPath));
        Assert.False(File.Exists(file.ReceivedPath));
        Assert.Equal(SnapshotOutcome.Matched, SnapshotVerifier.Verify("new", file, s_ci));
    }

    [Fact]
    public void A_match_passes_whatever_the_line_endings_and_removes_a_stale_received_file()
    {
        SnapshotFile file = Prepare("x").File;
        File.WriteAllText(file.VerifiedPath, "a\r\nb\r\n\r\n");
        File.WriteAllText(file.ReceivedPath, "stale");

        SnapshotOutcome outcome = SnapshotVerifier.Verify("a\nb", file, s_ci);

        Assert.Equal(SnapshotOutcome.Matched, outcome);
        Assert.False(File.Exists(file.ReceivedPath));
    }

    [Fact]
    public void Scrubbers_run_per_call_then_per_class_then_global_then_the_defaults()
    {
        var global = new SnapshotSettings();
        global.AddScrubber(Scrubber.Replace("level:global", "{GlobalLevel}"));
        global.AddScrubber(Scrubber.Replace("order:call,class", "order:call,class,global"));
        const string text = "level:call level:class level:global {CallLevel}->class->global pid 4242";

        string scrubbed = Snapshot.Prepare(
            text, null, [Scrubber.Replace("level:call", "{CallLevel}")], SourceFile, TestContext.Current, global).Text;

        Assert.Equal("{CallLevel} {ClassLevel} {GlobalLevel} order:call,class,global pid {Pid_1}", scrubbed);
    }

    [Fact]
    public void The_defaults_can_be_turned_off()
    {
        var settings = new SnapshotSettings { UseDefaultScrubbers = false };

        Assert.Equal("pid 4242", Snapshot.Prepare("pid 4242", null, null, SourceFile, TestContext.Current, settings).Text);
    }

    [Fact]
    public void Global_settings_add_and_remove_scrubbers()
    {
        var settings = new SnapshotSettings();
        Scrubber scrubber = Scrubber.Replace("a", "b");

        settings.AddScrubber(scrubber);
        Assert.Equal([scrubber], settings.Scrubbers);
        Assert.True(settings.RemoveScrubber(scrubber));
        Assert.False(settings.RemoveScrubber(scrubber));
        Assert.Empty(settings.Scrubbers);
    }

    [Fact]
    public void A_class_attribute_naming_a_missing_or_wrong_member_is_an_error_that_names_it()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => Snapshot.ClassScrubbers(typeof(MissingMember)).ToList());
        var wrong = Assert.Throws<InvalidOperationException>(() => Snapshot.ClassScrubbers(typeof(WrongMember)).ToList());

        Assert.Contains("'Nope'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("IEnumerable<Scrubber>", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_scrubbers_come_from_fields_methods_and_base_classes()
    {
        IEnumerable<Scrubber> scrubbers = Snapshot.ClassScrubbers(typeof(DerivedWithField));

        Assert.Equal("F M", Scrubber.Apply("field method", scrubbers));
    }

    [Fact]
    public void The_environment_turns_on_accept_mode_and_recognizes_CI()
    {
        static SnapshotEnvironment From(params (string Name, string Value)[] variables) =>
            SnapshotEnvironment.From(name => variables.FirstOrDefault(v => v.Name == name).Value);

        Assert.Equal(new SnapshotEnvironment(false, false), From());
        Assert.Equal(new SnapshotEnvironment(true, false), From(("QEMUTESTKIT_ACCEPT", "1")));
        Assert.Equal(new SnapshotEnvironment(true, false), From(("QEMUTESTKIT_ACCEPT", "True")));
        Assert.Equal(new SnapshotEnvironment(false, false), From(("QEMUTESTKIT_ACCEPT", "0")));
        Assert.Equal(new SnapshotEnvironment(false, true), From(("CI", "true")));
        Assert.Equal(new SnapshotEnvironment(false, false), From(("CI", "false")));
        Assert.Equal(new SnapshotEnvironment(false, true), From(("GITHUB_ACTIONS", "true")));
        Assert.Equal(new SnapshotEnvironment(false, true), From(("TF_BUILD", "True")));
        Assert.Equal(new SnapshotEnvironment(false, false), From(("TF_BUILD", "")));
    }

    [Fact]
    public void The_unified_diff_groups_distant_changes_into_separate_hunks()
    {
        string old = string.Join('\n', Enumerable.Range(1, 20).Select(i => $"line {i}"));
        string @new = old.Replace("line 2\n", "line two\n", StringComparison.Ordinal).Replace("line 18\n", "", StringComparison.Ordinal);

        string diff = UnifiedDiff.Create(old, @new, "a", "b");

        Assert.Equal(
            """
            --- a
            +++ b
            @@ -1,5 +1,5 @@
             line 1
            -line 2
            +line two
             line 3
             line 4
             line 5
            @@ -15,6 +15,5 @@
             line 15
             line 16
             line 17
            -line 18
             line 19
             line 20
            """.ReplaceLineEndings("\n"),
            diff);
    }

    [Fact]
    public void The_public_assertion_matches_its_committed_snapshot_with_global_scrubbers()
    {
        // The real entry point, against this file's folder: a verified file is committed beside this source.
        Scrubber unique = Scrubber.Pattern(new Regex("global-token-[0-9]+"), "{GlobalToken}");
        SnapshotSettings.Global.AddScrubber(unique);
        try
        {
            Snapshot.Match("through Snapshot.Match: global-token-8812, pid 4242");
        }
        finally
        {
            SnapshotSettings.Global.RemoveScrubber(unique);
        }
    }

    [Fact]
    public async Task The_public_async_assertion_matches_its_committed_snapshot()
    {
        await Snapshot.MatchAsync("through Snapshot.MatchAsync: level:class", name: "named", cancellationToken: TestContext.Current.CancellationToken);
    }

    private string SourceFile => Path.Combine(_folder, "SnapshotAssertionTests.cs");

    private (string Text, SnapshotFile File) Prepare(string text, string? name = null) =>
        Snapshot.Prepare(text, name, null, SourceFile, TestContext.Current, new SnapshotSettings());

    [SnapshotScrubbers("Nope")]
    private sealed class MissingMember;

    [SnapshotScrubbers(nameof(Wrong))]
    private sealed class WrongMember
    {
        public static int Wrong => 1;
    }

    [SnapshotScrubbers(nameof(Field))]
    public class BaseWithField
    {
        public static readonly Scrubber[] Field = [Scrubber.Replace("field", "F")];
    }

    [SnapshotScrubbers(nameof(Method))]
    public sealed class DerivedWithField : BaseWithField
    {
        public static IEnumerable<Scrubber> Method() => [Scrubber.Replace("method", "M")];
    }
}
