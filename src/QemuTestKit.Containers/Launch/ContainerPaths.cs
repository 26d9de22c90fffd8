using QemuTestKit.Sdk;

namespace QemuTestKit.Containers;

/// <summary>Which host folders a container gets, so QEMU sees every path of its command line unchanged.</summary>
internal static class ContainerPaths
{
    /// <summary>
    /// The folders QEMU of <paramref name="spec"/> must see: the spec's shared folders (the machine's own, its sockets'
    /// and its host files') and its socket folder. Read from the spec's data, never from QEMU's arguments.
    /// </summary>
    public static IReadOnlyList<string> For(QemuLaunchSpec spec) => Minimal([.. spec.SharedDirectories, spec.SocketDirectory]);

    /// <summary>
    /// What the TCP transport copies into the container: the folders of <see cref="For"/> that hold none of the spec's
    /// host files (the machine's temp, socket and log folders) whole, and the host files one by one.
    /// </summary>
    public static (IReadOnlyList<string> Folders, IReadOnlyList<string> Files) ToCopy(QemuLaunchSpec spec)
    {
        List<string> files = [.. spec.HostFiles.Where(File.Exists).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal)];
        var own = new HashSet<string>(StringComparer.Ordinal) { Path.GetFullPath(spec.SocketDirectory) };
        if (Path.GetDirectoryName(Path.GetFullPath(spec.LogPath)) is { } logFolder)
        {
            own.Add(logFolder);
        }

        List<string> folders = [.. For(spec).Where(f => Directory.Exists(f) && (own.Contains(f) || !files.Any(file => IsUnder(file, f))))];
        return (folders, [.. files.Where(file => !folders.Any(f => IsUnder(file, f)))]);
    }

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
