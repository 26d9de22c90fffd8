using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.EndToEnd;

/// <summary>
/// One real `dotnet build` of a tiny project that imports the kit's targets (the tasks from this build, no packing):
/// a mistake in its qemu-profiles.json fails the build with the file, line and column MSBuild prints.
/// </summary>
public sealed class ProfileFileBuildTests
{
    [Fact(Timeout = 600_000)]
    public async Task A_misspelt_field_in_qemu_profiles_json_fails_dotnet_build_at_its_line_and_column()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        string repo = RepoRoot();
        string targets = Path.Combine(repo, "src", "QemuTestKit.Build", "build");
        string tasks = typeof(WriteQemuManifest).Assembly.Location;
        temp.WriteText("profiles.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="{targets}/QemuTestKit.props" />
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <_QemuTasksAssembly>{tasks}</_QemuTasksAssembly>
                <QemuResolveBinary>false</QemuResolveBinary>
              </PropertyGroup>
              <ItemGroup>
                <QemuProfile Include="qemu-profiles.json" />
              </ItemGroup>
              <Import Project="{targets}/QemuTestKit.targets" />
            </Project>
            """);
        temp.WriteText("Empty.cs", "namespace Profiles; internal static class Empty { }\n");
        string json = temp.WriteText("qemu-profiles.json", """
            {
              "profiles": {
                "guest": {
                  "machine": "pc",
                     "smp": "two"
                }
              }
            }
            """);

        DotnetCli.Result result = await DotnetCli.RunAsync(temp.Path, ["build", "-nologo"], TimeSpan.FromMinutes(8), cancellationToken: ct);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains($"{json}(5,10): error QTK020: Profile 'guest', field 'smp' must be a positive integer, got the string \"two\"", result.Output, StringComparison.Ordinal);
    }

    private static string RepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QemuTestKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No QemuTestKit.sln above {AppContext.BaseDirectory}.");
    }
}
