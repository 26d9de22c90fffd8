using System.Text.RegularExpressions;
using QemuTestKit.Build.Tests.EndToEnd;
using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.Readme;

/// <summary>
/// Every ```csharp block of README.md and of the package readmes compiles against the kit (see
/// <see cref="ReadmeSnippetProject"/> for how blocks become files); a block that does not names its file and line.
/// </summary>
public sealed partial class ReadmeCodeBlocksTests
{
    private static readonly string RepoRoot = PackedPackages.FindRepoRoot();

    public static IEnumerable<string> Readmes =>
    [
        "README.md",
        .. Directory.GetFiles(Path.Combine(RepoRoot, "src", "QemuTestKit.Build", "Packaging", "readme"), "*.md")
            .Select(f => Path.GetRelativePath(RepoRoot, f)).Order(StringComparer.Ordinal),
    ];

    [Fact]
    public void The_blocks_are_found_and_each_is_a_file_or_a_fragment_by_the_rule()
    {
        IReadOnlyList<MarkdownCodeBlock> blocks = MarkdownCodeBlocks.Read("""
            ## One
            ```csharp
            using Xunit;

            [QemuMachine("tiny")]
            public class BootTests(QemuVm vm) { }
            ```
            - a list item:

              ```csharp
              await vm.LaunchAsync(ct);
              ```
            ```csharp ignore
            this is not C#
            ```
            """);

        Assert.Equal(["csharp", "csharp", "csharp"], blocks.Select(b => b.Language));
        Assert.True(ReadmeSnippetProject.IsWholeFile(blocks[0].Code));
        Assert.Equal("await vm.LaunchAsync(ct);\n", blocks[1].Code);
        Assert.False(ReadmeSnippetProject.IsWholeFile(blocks[1].Code));
        Assert.Equal(["ignore"], blocks[2].Flags);
        Assert.Equal("One", blocks[0].Section);
    }

    [Fact(Timeout = 1_200_000)]
    public async Task Every_csharp_block_of_the_readmes_compiles()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        (string, MarkdownCodeBlock)[] blocks =
        [
            .. Readmes.SelectMany(readme => MarkdownCodeBlocks.Read(File.ReadAllText(Path.Combine(RepoRoot, readme)))
                .Where(b => b.Language == "csharp" && !b.Flags.Contains("ignore"))
                .Select(b => (readme, b))),
        ];
        Assert.True(blocks.Length >= 8, $"only {blocks.Length} csharp blocks found in {string.Join(", ", Readmes)}");
        string project = Path.Combine(temp.Path, "snippets");
        IReadOnlyDictionary<string, MarkdownCodeBlock> files = ReadmeSnippetProject.Write(project, RepoRoot, blocks);

        // Its own artifacts folder: the kit's projects are built for this check without touching the repository's output.
        DotnetCli.Result build = await DotnetCli.RunAsync(
            project,
            ["build", "-nodeReuse:false", "-p:UseSharedCompilation=false", $"-p:ArtifactsPath={Path.Combine(temp.Path, "artifacts")}/"],
            PackedPackages.CommandTimeout,
            cancellationToken: ct);

        string[] errors = [.. CompileError().Matches(build.Output).Select(m => m.Value).Distinct()];
        string named = string.Join('\n', errors.Select(e => files.FirstOrDefault(f => e.Contains(f.Key, StringComparison.Ordinal)) is { Key: not null } f
            ? $"{f.Value} of {blocks.First(b => ReferenceEquals(b.Item2, f.Value)).Item1}: {e}"
            : e));
        Assert.True(build.ExitCode == 0, $"README blocks do not compile:\n{named}\n\n{build}");
    }

    [GeneratedRegex(@"[^\s]*\.cs\(\d+,\d+\): error [A-Z]+\d+: [^\[\n]*")]
    private static partial Regex CompileError();
}
