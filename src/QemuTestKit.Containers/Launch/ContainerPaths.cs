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
