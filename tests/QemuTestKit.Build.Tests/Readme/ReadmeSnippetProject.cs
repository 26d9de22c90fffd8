using System.Text.RegularExpressions;

namespace QemuTestKit.Build.Tests.Readme;

/// <summary>
/// Turns the ```csharp blocks of the README and the package readmes into a project that references the kit's projects,
/// one file per block, so `dotnet build` proves every block compiles. The rule, which the README's blocks follow:
/// <list type="bullet">
/// <item>A block marked <c>```csharp ignore</c> is skipped (for code that must not compile).</item>
/// <item>A block that declares a type at its top level (<c>class</c>, <c>record</c>, <c>struct</c>, <c>interface</c>,
/// <c>enum</c>) is a whole file a user copies: it compiles as written, with only the SDK's implicit usings, inside a
/// namespace of its own (so two blocks may both show a <c>BootTests</c>).</item>
/// <item>Any other block is a fragment: statements, compiled as the body of an async method with the kit's namespaces
/// imported and the names the README's prose uses for what a fragment takes as given declared as parameters
/// (<see cref="FragmentParameters"/>).</item>
/// </list>
/// </summary>
internal static partial class ReadmeSnippetProject
{
    /// <summary>The names fragments may use without declaring them: what the prose around them says they are.</summary>
    public const string FragmentParameters =
        "string kernel, string initrd, string image, byte[] bytes, ILogger logger, QemuVm vm, CancellationToken ct";

    private const string FragmentUsings = """
        using System.Net;
        using System.Text.Json;
        using System.Text.RegularExpressions;
        using Microsoft.Extensions.Logging;
        using QemuTestKit;
        using QemuTestKit.Containers;
        using QemuTestKit.Qga;
        using QemuTestKit.Qmp;
        using QemuTestKit.Xunit;
        using Xunit;

        """;

    public static bool IsWholeFile(string code) => TypeDeclaration().IsMatch(code);

    /// <summary>Writes the project and one file per block into <paramref name="folder"/>; returns the file name of each block.</summary>
    public static IReadOnlyDictionary<string, MarkdownCodeBlock> Write(string folder, string repoRoot, IEnumerable<(string Source, MarkdownCodeBlock Block)> blocks)
    {
        Directory.CreateDirectory(folder);
        var files = new Dictionary<string, MarkdownCodeBlock>();
        int n = 0;
        foreach ((string source, MarkdownCodeBlock block) in blocks)
        {
            n++;
            string name = $"Block{n:D2}_{Regex.Replace(Path.GetFileNameWithoutExtension(source), "[^A-Za-z0-9]", "")}_line{block.Line}.cs";
            File.WriteAllText(Path.Combine(folder, name), IsWholeFile(block.Code) ? AsFile(block.Code, n) : AsFragment(block.Code, n));
            files[name] = block;
        }

        string src = Path.Combine(repoRoot, "src");
        File.WriteAllText(Path.Combine(folder, "ReadmeSnippets.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="xunit.v3" Version="4.0.2" />
                <ProjectReference Include="{Path.Combine(src, "QemuTestKit.Xunit", "QemuTestKit.Xunit.csproj")}" />
                <ProjectReference Include="{Path.Combine(src, "QemuTestKit.Containers", "QemuTestKit.Containers.csproj")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "global.json"), """{ "test": { "runner": "Microsoft.Testing.Platform" } }""");
        return files;
    }

    private static string AsFile(string code, int n)
    {
        // A file-scoped namespace goes after the block's using directives.
        (string usings, string rest) = SplitUsings(code);
        return usings + CultureInvariant($"namespace Readme.Block{n:D2};\n") + rest;
    }

    private static string AsFragment(string code, int n)
    {
        // A fragment's own using directives stay at the top of the file, outside the method.
        (string usings, string statements) = SplitUsings(code);
        return FragmentUsings + usings + CultureInvariant($$"""
            namespace Readme.Block{{n:D2}};

            #pragma warning disable CS1998 // a fragment need not await
            internal static class Fragment
            {
                public static async Task RunAsync({{FragmentParameters}})
                {
            {{statements}}
                }
            }
            """);
    }

    /// <summary>The leading <c>using</c> lines of a block (and the comments and blank lines among them), and the rest.</summary>
    private static (string Usings, string Remainder) SplitUsings(string code)
    {
        string[] lines = code.Split('\n');
        int afterUsings = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.StartsWith("using ", StringComparison.Ordinal) && line.EndsWith(';') && !line.Contains('('))
            {
                afterUsings = i + 1;
            }
            else if (line.Length > 0 && !line.StartsWith("//", StringComparison.Ordinal))
            {
                break;
            }
        }

        return (string.Join('\n', lines[..afterUsings]) + "\n", string.Join('\n', lines[afterUsings..]));
    }

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);

    [GeneratedRegex(@"^(\[[^\n]*\]\s*)*(public |internal |file |static |sealed |abstract |partial )*(class|record|struct|interface|enum) ", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();
}
