using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Internal;
using QemuTestKit;
using QemuTestKit.Internal;

namespace QemuTestKit.Build;

/// <summary>
/// Finds the QEMU system emulator: the <c>QemuBinary</c> property (a path or a file name), else the
/// <c>QEMU_BINARY</c> environment variable, else <c>qemu-system-$(QemuArch)</c> on PATH and in the usual
/// install folders. Runs it with <c>--version</c> and returns its path and version.
/// </summary>
/// <remarks>
/// Logs QTK001 (not found), QTK002 (not executable) or QTK003 (not QEMU), each naming the property to set and
/// the package to install. The version is cached in <see cref="CacheFile"/> by path, size and time stamp, so an
/// unchanged build does not start QEMU.
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "MSBuild never disposes tasks; the token source has no timer to release.")]
public sealed class ResolveQemuBinary : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The <c>QemuBinary</c> property: a path (relative to the project) or a file name searched for.</summary>
    public string? Binary { get; set; }

    /// <summary>The value of the <c>QEMU_BINARY</c> environment variable, used when <see cref="Binary"/> is empty.</summary>
    public string? EnvironmentBinary { get; set; }

    /// <summary>The <c>QemuArch</c> property: QEMU's target name (x86_64, aarch64, …); the host's when empty.</summary>
    public string? Arch { get; set; }

    /// <summary>The folder relative paths are resolved against (the project's folder).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>An optional file that remembers the version of the binary found last time.</summary>
    public string? CacheFile { get; set; }

    /// <summary>How long <c>--version</c> may take before the binary counts as not QEMU (10 s: QEMU answers in milliseconds).</summary>
    public int VersionTimeoutSeconds { get; set; } = (int)QemuVersionProbe.DefaultTimeout.TotalSeconds;

    /// <summary>The full path of the QEMU binary.</summary>
    [Output]
    public string? ResolvedPath { get; private set; }

    /// <summary>QEMU's version, for example <c>7.2.22</c>.</summary>
    [Output]
    public string? Version { get; private set; }

    /// <summary>The target architecture: <see cref="Arch"/>, or the host's.</summary>
    [Output]
    public string? ResolvedArch { get; private set; }

    /// <summary>Where a bare file name is searched; tests replace it, the build uses PATH and the install folders.</summary>
    internal IReadOnlyList<string>? SearchFolders { get; set; }

    /// <summary>How many times this task started the binary (tests check the cache with it).</summary>
    internal int VersionProbes { get; private set; }

    /// <inheritdoc />
    public void Cancel() => _cancel.Cancel();

    /// <inheritdoc />
    public override bool Execute() => TaskRunner.Run(Log, Resolve);

    private void Resolve()
    {
        string arch = string.IsNullOrWhiteSpace(Arch) ? HostArchitecture.Current : Arch.Trim();
        ResolvedArch = arch;
        string hint = HostArchitecture.InstallHint(arch);
        string baseDirectory = string.IsNullOrEmpty(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory;
        IReadOnlyList<string> folders = SearchFolders ?? HostToolSearch.DefaultFolders();

        string path;
        string source;
        if (!string.IsNullOrWhiteSpace(Binary))
        {
            source = "the QemuBinary property";
            path = Locate(Binary.Trim(), source, baseDirectory, folders, hint);
        }
        else if (!string.IsNullOrWhiteSpace(EnvironmentBinary))
        {
            source = "the QEMU_BINARY environment variable";
            path = Locate(EnvironmentBinary.Trim(), source, baseDirectory, folders, hint);
        }
        else
        {
            string name = "qemu-system-" + arch;
            source = "the search for " + name;
            path = HostToolSearch.Find(name, folders) ?? throw new QemuBuildException(
                ErrorCodes.QemuNotFound,
                $"QEMU was not found: no executable '{name}' on PATH or in {string.Join(", ", folders.Skip(Math.Max(0, folders.Count - 7)))}. " +
                $"Set the QemuBinary property (a path or a file name) or the QEMU_BINARY environment variable, set QemuArch for another target, or {hint}.");
        }

        ResolvedPath = path;
        Version = CachedVersion(path) ?? ProbeVersion(path, source, hint);
        SaveCache(path, Version);
        Log.LogMessage(MessageImportance.Normal, "QemuTestKit: QEMU {0} at {1}", Version, path);
    }

    private static string Locate(string value, string source, string baseDirectory, IReadOnlyList<string> folders, string hint)
    {
        if (HostToolSearch.IsBareFileName(value))
        {
            return HostToolSearch.Find(value, folders) ?? throw new QemuBuildException(
                ErrorCodes.QemuNotFound,
                $"QEMU was not found: {source} is '{value}', and no executable of that name is on PATH or in the usual install folders. " +
                $"Set the QemuBinary property to the full path of qemu-system-<arch>, or {hint}.");
        }

        string path = Path.GetFullPath(value, baseDirectory);
        try
        {
            HostToolSearch.EnsureExecutable(path);
        }
        catch (HostToolException e)
        {
            throw Failure(e, $"QEMU is not usable: {source} is '{value}', but {e.Message}. Set the QemuBinary property to an executable qemu-system-<arch>, or {hint}.");
        }

        return path;
    }

    private string ProbeVersion(string path, string source, string hint)
    {
        VersionProbes++;
        try
        {
            return QemuVersionProbe.Probe(path, TimeSpan.FromSeconds(VersionTimeoutSeconds), _cancel.Token).Version;
        }
        catch (HostToolException e)
        {
            throw Failure(e, $"QEMU is not usable ({source}): {e.Message}. Set the QemuBinary property (or QEMU_BINARY) to a qemu-system-<arch> binary, or {hint}.");
        }
    }

    private static QemuBuildException Failure(HostToolException e, string message) => new(
        e.Problem switch
        {
            HostToolProblem.Missing => ErrorCodes.QemuNotFound,
            HostToolProblem.Directory or HostToolProblem.NotExecutable or HostToolProblem.CannotStart => ErrorCodes.QemuNotExecutable,
            _ => ErrorCodes.NotQemu,
        },
        message,
        e);

    private string? CachedVersion(string path)
    {
        if (string.IsNullOrEmpty(CacheFile) || !File.Exists(CacheFile))
        {
            return null;
        }

        try
        {
            BinaryCacheEntry? entry = JsonSerializer.Deserialize(File.ReadAllText(CacheFile), BuildJsonContext.Default.BinaryCacheEntry);
            return entry is not null && entry.Equals(BinaryCacheEntry.For(path, entry.Version)) ? entry.Version : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void SaveCache(string path, string version)
    {
        if (string.IsNullOrEmpty(CacheFile))
        {
            return;
        }

        string json = JsonSerializer.Serialize(BinaryCacheEntry.For(path, version), BuildJsonContext.Default.BinaryCacheEntry);
        // Written only when it changes: the manifest target lists this file among its inputs.
        FileUtilities.WriteTextIfChanged(CacheFile, json);
    }
}
