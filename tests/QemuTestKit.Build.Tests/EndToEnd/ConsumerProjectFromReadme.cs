using QemuTestKit.Build.Tests.Readme;

namespace QemuTestKit.Build.Tests.EndToEnd;

/// <summary>
/// The test project the README's "Use it in your repository" section shows, written from the README's own blocks (the
/// csproj, global.json and the test class), with only PackageReferences: xunit.v3, QemuTestKit.Xunit and
/// QemuTestKit.Guests. Two changes, both to the setting a local feed needs: the packed version instead of the README's,
/// and a nuget.config naming the feed and a private packages folder. It lives in the fixture's temporary folder,
/// outside the repository, so nothing of the repository (Directory.Build.*, global.json, build/guest/out) reaches it.
/// </summary>
internal sealed class ConsumerProjectFromReadme
{
    public const string Section = "Use it in your repository";

    public ConsumerProjectFromReadme(PackedPackages packages, string name)
    {
        Directory = Path.Combine(packages.Root, name);
        System.IO.Directory.CreateDirectory(Directory);

        IReadOnlyList<MarkdownCodeBlock> blocks = [.. MarkdownCodeBlocks.Read(File.ReadAllText(Path.Combine(packages.RepoRoot, "README.md")))
            .Where(b => b.Section == Section)];
        string csproj = Single(blocks, "xml", "<Project Sdk=");
        string globalJson = Single(blocks, "json", "Microsoft.Testing.Platform");
        string tests = Single(blocks, "csharp", "[QemuMachine(\"tiny\")]");

        foreach (string package in new[] { "QemuTestKit.Xunit", "QemuTestKit.Guests" })
        {
            string reference = $"<PackageReference Include=\"{package}\" Version=\"";
            int at = csproj.IndexOf(reference, StringComparison.Ordinal);
            if (at < 0)
            {
                throw new InvalidOperationException($"The README's csproj in '{Section}' has no {reference}…: {csproj}");
            }

            int end = csproj.IndexOf('"', at + reference.Length);
            csproj = csproj[..(at + reference.Length)] + packages.Version + csproj[end..];
        }

        File.WriteAllText(Path.Combine(Directory, "MyVmTests.csproj"), csproj);
        File.WriteAllText(Path.Combine(Directory, "global.json"), globalJson);
        File.WriteAllText(Path.Combine(Directory, "BootTests.cs"), tests);
        File.WriteAllText(Path.Combine(Directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{packages.PackagesFolder}" />
              </config>
              <packageSources>
                <add key="qemutestkit" value="{packages.Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    public string Directory { get; }

    public string OutputDirectory => Path.Combine(Directory, "bin", "Debug", "net10.0");

    /// <summary>
    /// <c>dotnet test</c> as a user runs it, with none of the kit's variables: no QTK_GUEST_DIR (the guests must come
    /// from the package), no QEMU_BINARY (QEMU is found on PATH).
    /// </summary>
    public Task<DotnetCli.Result> TestAsync(CancellationToken cancellationToken) =>
        DotnetCli.RunAsync(
            Directory,
            ["test", "-p:UseSharedCompilation=false"],
            PackedPackages.CommandTimeout,
            new Dictionary<string, string?> { ["QTK_GUEST_DIR"] = null, ["QEMU_BINARY"] = null },
            cancellationToken);

    private static string Single(IReadOnlyList<MarkdownCodeBlock> blocks, string language, string containing)
    {
        MarkdownCodeBlock[] found = [.. blocks.Where(b => b.Language == language && b.Code.Contains(containing, StringComparison.Ordinal))];
        return found.Length == 1
            ? found[0].Code
            : throw new InvalidOperationException(
                $"The README's '{Section}' section must have exactly one ```{language} block containing '{containing}'; it has {found.Length}.");
    }
}
