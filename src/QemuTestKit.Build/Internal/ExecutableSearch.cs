namespace QemuTestKit.Build.Internal;

/// <summary>Finds an executable by file name on PATH and in the folders QEMU is usually installed to.</summary>
internal static class ExecutableSearch
{
    private static readonly string[] s_unixInstallFolders =
    [
        "/usr/local/bin", "/usr/bin", "/bin", "/usr/libexec", "/opt/homebrew/bin", "/opt/local/bin", "/snap/bin",
    ];

    /// <summary>PATH first (what the user chose), then the usual install folders.</summary>
    public static IReadOnlyList<string> DefaultFolders(string? pathVariable)
    {
        var folders = new List<string>();
        foreach (string folder in (pathVariable ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            folders.Add(folder);
        }

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

    public static string? Find(string fileName, IEnumerable<string> folders)
    {
        if (OperatingSystem.IsWindows() && !fileName.EndsWith(".exe", StringComparison.OrdinalIgnoreCase))
        {
            fileName += ".exe";
        }

        foreach (string folder in folders)
        {
            string candidate = Path.Combine(folder, fileName);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

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
}
