namespace QemuTestKit.Benchmarks;

/// <summary>Where the benchmarks find the repository (for its test assets and the tiny guest).</summary>
internal static class RepositoryFiles
{
    /// <summary>The folder holding QemuTestKit.sln, searched upwards from the benchmark's binaries.</summary>
    public static string Root()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QemuTestKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("benchmarks: run them from inside the QemuTestKit repository (QemuTestKit.sln not found above " + AppContext.BaseDirectory + ").");
    }

    /// <summary>The built-in <c>tiny</c> profile over the repository's guest build.</summary>
    public static QemuProfile Tiny(string root) => BuiltInProfiles.CreateTiny(BuiltInProfiles.FindGuestDirectory(root));

    /// <summary>Throws when a benchmark's precondition does not hold: its figures would mean nothing.</summary>
    public static void Require(bool condition, string suite, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"{suite} benchmark: {message}");
        }
    }
}
