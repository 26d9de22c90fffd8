namespace QemuTestKit.Containers;

/// <summary>Which host folders a container gets, so QEMU sees every path of its command line unchanged.</summary>
internal static class ContainerPaths
{
    /// <summary>
    /// The folders QEMU of <paramref name="spec"/> must see: the spec's shared folders, its socket folder, and the folder
    /// of every <c>path=</c> in the arguments (a socket that does not exist yet, such as one moved to a short folder).
    /// </summary>
    public static IReadOnlyList<string> For(QemuLaunchSpec spec)
    {
        var folders = new List<string>(spec.SharedDirectories) { spec.SocketDirectory };
        foreach (string arg in spec.Arguments)
        {
            // QEMU escapes a literal comma as ",,": keep it out of the split.
            foreach (string part in arg.Replace(",,", "\0", StringComparison.Ordinal).Split(','))
            {
                if (part.StartsWith("path=/", StringComparison.Ordinal) && Path.GetDirectoryName(part[5..].Replace("\0", ",", StringComparison.Ordinal)) is { } folder)
                {
                    folders.Add(folder);
                }
            }
        }

        return Minimal(folders);
    }

    /// <summary>
    /// What the TCP transport copies into the container: the folders of <see cref="For"/> that hold no file named on the
    /// command line (the machine's temp, socket and log folders) whole, and the named files one by one.
    /// </summary>
    public static (IReadOnlyList<string> Folders, IReadOnlyList<string> Files) ToCopy(QemuLaunchSpec spec)
    {
        List<string> files = [.. NamedFiles(spec.Arguments)];
        var own = new HashSet<string>(StringComparer.Ordinal) { Path.GetFullPath(spec.SocketDirectory) };
        if (Path.GetDirectoryName(Path.GetFullPath(spec.LogPath)) is { } logFolder)
        {
            own.Add(logFolder);
        }

        List<string> folders = [.. For(spec).Where(f => Directory.Exists(f) && (own.Contains(f) || !files.Any(file => IsUnder(file, f))))];
        return (folders, [.. files.Where(file => !folders.Any(f => IsUnder(file, f)))]);
    }

    /// <summary>Existing absolute files named in the arguments: whole arguments and the values of <c>key=value</c> options.</summary>
    public static IEnumerable<string> NamedFiles(IEnumerable<string> arguments) =>
        arguments
            .SelectMany(arg => arg.Replace(",,", "\0", StringComparison.Ordinal).Split(','))
            .Select(part => part.Replace("\0", ",", StringComparison.Ordinal))
            .Select(part => part.StartsWith('/') ? part : part[(part.IndexOf('=', StringComparison.Ordinal) + 1)..])
            .Where(candidate => candidate.StartsWith('/') && File.Exists(candidate))
            .Select(Path.GetFullPath)
            .Distinct(StringComparer.Ordinal);

    private static bool IsUnder(string file, string folder) => file.StartsWith(folder + "/", StringComparison.Ordinal);

    /// <summary>
    /// The absolute, normalised folders of <paramref name="folders"/> without the ones inside another (a nested bind mount
    /// or copy adds nothing), and never a system root such as <c>/</c>, <c>/proc</c>, <c>/dev</c> or <c>/sys</c>.
    /// </summary>
    public static IReadOnlyList<string> Minimal(IEnumerable<string> folders)
    {
        var sorted = folders
            .Where(f => !string.IsNullOrWhiteSpace(f))
            .Select(f => Path.TrimEndingDirectorySeparator(Path.GetFullPath(f)))
            .Where(f => f is not "/" and not "/proc" and not "/sys" and not "/dev" && !f.StartsWith("/proc/", StringComparison.Ordinal)
                        && !f.StartsWith("/sys/", StringComparison.Ordinal) && !f.StartsWith("/dev/", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

        var result = new List<string>();
        foreach (string folder in sorted)
        {
            if (!result.Any(parent => folder.StartsWith(parent + "/", StringComparison.Ordinal)))
            {
                result.Add(folder);
            }
        }

        return result;
    }
}
