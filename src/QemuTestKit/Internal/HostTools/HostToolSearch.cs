namespace QemuTestKit.Internal;

/// <summary>
/// The one way the kit finds a host program: on PATH (and, for the MSBuild tasks, the folders QEMU is usually installed
/// to), accepting only regular files with an execute bit, because a folder or a non-executable file of the right name
/// only fails later with a message about something else.
/// </summary>
internal static class HostToolSearch
{
    private static readonly string[] s_unixInstallFolders =
    [
        "/usr/local/bin", "/usr/bin", "/bin", "/usr/libexec", "/opt/homebrew/bin", "/opt/local/bin", "/snap/bin",
    ];

    /// <summary>The folders of the PATH variable, in order.</summary>
    public static IReadOnlyList<string> PathFolders(string? pathVariable = null) =>
        (pathVariable ?? Environment.GetEnvironmentVariable("PATH") ?? (OperatingSystem.IsWindows() ? "" : "/usr/bin:/bin")).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>PATH first (what the user chose), then the usual install folders.</summary>
    public static IReadOnlyList<string> DefaultFolders(string? pathVariable = null)
    {
        var folders = new List<string>(PathFolders(pathVariable));
        if (OperatingSystem.IsWindows())
        {
            string programFiles = Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles);
            if (programFiles.Length > 0)
            {
                folders.Add(Path.Combine(programFiles, "qemu"));
            }
        }
        else
        {
            folders.AddRange(s_unixInstallFolders);
        }

        return folders;
    }

    /// <summary>The first executable file named <paramref name="fileName"/> on PATH, or null.</summary>
    public static string? FindOnPath(string fileName) => Find(fileName, PathFolders());

    /// <summary>The first executable file named <paramref name="fileName"/> in <paramref name="folders"/>, as a full path, or null.</summary>
    public static string? Find(string fileName, IEnumerable<string> folders)
    {
        if (OperatingSystem.IsWindows() && !fileName.EndsWith(".exe", StringComparison.OrdinalIgnoreCase))
        {
            fileName += ".exe";
        }

        foreach (string folder in folders)
        {
            string candidate = Path.Combine(folder, fileName);
            if (Inspect(candidate) is null)
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    /// <summary>
    /// A bare name is searched on PATH; a path is checked as it is.
    /// </summary>
    /// <exception cref="HostToolException">Nothing usable is there; the message says what is wrong.</exception>
    public static string Resolve(string program)
    {
        if (IsBareFileName(program))
        {
            return FindOnPath(program) ?? throw new HostToolException(
                HostToolProblem.Missing, program, $"no executable '{program}' is on PATH ({Environment.GetEnvironmentVariable("PATH")})");
        }

        string path = Path.GetFullPath(program);
        EnsureExecutable(path);
        return path;
    }

    /// <summary>Checks that <paramref name="path"/> is a file this process can run.</summary>
    /// <exception cref="HostToolException">It does not exist, is a folder, or has no execute bit.</exception>
    public static void EnsureExecutable(string path)
    {
        if (Inspect(path) is { } problem)
        {
            throw new HostToolException(problem, path, Describe(problem, path));
        }
    }

    /// <summary>What is wrong with running <paramref name="path"/>, or null when it is an executable file.</summary>
    public static HostToolProblem? Inspect(string path)
    {
        if (Directory.Exists(path))
        {
            return HostToolProblem.Directory;
        }

        if (!File.Exists(path))
        {
            return HostToolProblem.Missing;
        }

        return IsExecutable(path) ? null : HostToolProblem.NotExecutable;
    }

    /// <summary>Whether the file has any execute bit (always true on Windows, which has none).</summary>
    public static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & AnyExecute) != 0;
    }

    /// <summary>A value names a file to search for when it has no directory part.</summary>
    public static bool IsBareFileName(string value) =>
        value.IndexOfAny(['/', Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]) < 0;

    private static string Describe(HostToolProblem problem, string path) => problem switch
    {
        HostToolProblem.Directory => $"'{path}' is a folder, not a program",
        HostToolProblem.NotExecutable => $"'{path}' is not executable (no execute bit; run 'chmod +x {path}')",
        _ => $"'{path}' does not exist",
    };
}
