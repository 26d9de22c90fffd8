using System.Globalization;

namespace QemuTestKit.Build.Tests.EndToEnd;

/// <summary>
/// Packs QemuTestKit, QemuTestKit.Xunit and QemuTestKit.Guests (from build/guest/out) once for the end-to-end tests into a temporary feed, with a version no
/// other build uses, and a separate artifacts folder so the repository's own build output is untouched.
/// Everything lives under one temporary folder that is deleted afterwards, restored packages included.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(8);

    public string Root { get; } = Directory.CreateTempSubdirectory("qtk-e2e-").FullName;

    public string RepoRoot { get; } = FindRepoRoot();

    public string Feed => Path.Combine(Root, "feed");

    public string PackagesFolder => Path.Combine(Root, "packages");

    public string Version { get; } = "0.1.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    internal DotnetCli.Result? PackFailure { get; private set; }

    public async ValueTask InitializeAsync()
    {
        foreach (string project in new[] { "src/QemuTestKit/QemuTestKit.csproj", "src/QemuTestKit.Xunit/QemuTestKit.Xunit.csproj", "src/QemuTestKit.Guests/QemuTestKit.Guests.csproj" })
        {
            DotnetCli.Result result = await DotnetCli.RunAsync(RepoRoot, [
                "pack", Path.Combine(RepoRoot, project), "-c", "Release", "-o", Feed, "-nodeReuse:false",
                $"-p:Version={Version}", $"-p:ArtifactsPath={Path.Combine(Root, "artifacts")}/",
            ], CommandTimeout);
            if (result.ExitCode != 0)
            {
                PackFailure = result;
                return;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return ValueTask.CompletedTask;
    }

    internal static string FindRepoRoot()
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
