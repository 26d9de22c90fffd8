using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Internal;
using QemuTestKit;

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
public sealed partial class ResolveQemuBinary : Microsoft.Build.Utilities.Task, ICancelableTask
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

    /// <summary>How long <c>--version</c> may take before the binary counts as not QEMU.</summary>
    public int VersionTimeoutSeconds { get; set; } = 60;

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
        IReadOnlyList<string> folders = SearchFolders ?? ExecutableSearch.DefaultFolders(Environment.GetEnvironmentVariable("PATH"));

        string path;
        if (!string.IsNullOrWhiteSpace(Binary))
        {
            path = Locate(Binary.Trim(), "the QemuBinary property", baseDirectory, folders, hint);
        }
        else if (!string.IsNullOrWhiteSpace(EnvironmentBinary))
        {
            path = Locate(EnvironmentBinary.Trim(), "the QEMU_BINARY environment variable", baseDirectory, folders, hint);
        }
        else
        {
            string name = "qemu-system-" + arch;
            path = ExecutableSearch.Find(name, folders) ?? throw new QemuBuildException(
                ErrorCodes.QemuNotFound,
                $"QEMU was not found: no executable '{name}' on PATH or in {string.Join(", ", folders.Skip(Math.Max(0, folders.Count - 7)))}. " +
                $"Set the QemuBinary property (a path or a file name) or the QEMU_BINARY environment variable, set QemuArch for another target, or {hint}.");
        }

        ResolvedPath = path;
        Version = CachedVersion(path) ?? ProbeVersion(path, hint);
        SaveCache(path, Version);
        Log.LogMessage(MessageImportance.Normal, "QemuTestKit: QEMU {0} at {1}", Version, path);
    }

    private static string Locate(string value, string source, string baseDirectory, IReadOnlyList<string> folders, string hint)
    {
        if (ExecutableSearch.IsBareFileName(value))
        {
            return ExecutableSearch.Find(value, folders) ?? throw new QemuBuildException(
                ErrorCodes.QemuNotFound,
                $"QEMU was not found: {source} is '{value}', and no executable of that name is on PATH or in the usual install folders. " +
                $"Set the QemuBinary property to the full path of qemu-system-<arch>, or {hint}.");
        }

        string path = Path.GetFullPath(value, baseDirectory);
        if (Directory.Exists(path))
        {
            throw new QemuBuildException(
                ErrorCodes.QemuNotExecutable,
                $"The QEMU binary '{path}' (from {source}) is a directory. Set the QemuBinary property to the qemu-system-<arch> file itself, or {hint}.");
        }

        if (!File.Exists(path))
        {
            throw new QemuBuildException(
                ErrorCodes.QemuNotFound,
                $"QEMU was not found: {source} is '{value}', but '{path}' does not exist. Set the QemuBinary property to an existing qemu-system-<arch>, or {hint}.");
        }

        if (!ExecutableSearch.IsExecutable(path))
        {
            throw new QemuBuildException(
                ErrorCodes.QemuNotExecutable,
                $"The QEMU binary '{path}' (from {source}) is not executable. Run 'chmod +x {path}', set the QemuBinary property to an executable qemu-system-<arch>, or {hint}.");
        }

        return path;
    }

    private string ProbeVersion(string path, string hint)
    {
        VersionProbes++;
        ProcessRunner.Result result;
        try
        {
            result = ProcessRunner.Run(path, ["--version"], TimeSpan.FromSeconds(VersionTimeoutSeconds), _cancel.Token);
        }
        catch (Win32Exception e)
        {
            throw new QemuBuildException(
                ErrorCodes.QemuNotExecutable,
                $"The QEMU binary '{path}' could not be started: {e.Message}. Set the QemuBinary property to an executable qemu-system-<arch>, or {hint}.",
                e);
        }
        catch (TimeoutException e)
        {
            throw new QemuBuildException(ErrorCodes.NotQemu, $"'{path}' does not look like QEMU: {e.Message} Set the QemuBinary property to a qemu-system-<arch> binary.", e);
        }

        Match match = VersionPattern().Match(result.Output);
        if (result.ExitCode != 0 || !match.Success)
        {
            throw new QemuBuildException(
                ErrorCodes.NotQemu,
                $"'{path}' does not look like QEMU: '{result.CommandLine}' exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)} " +
                $"and printed '{ProcessRunner.Tail(result.Output)}' (expected 'QEMU emulator version …'). " +
                $"Set the QemuBinary property (or QEMU_BINARY) to a qemu-system-<arch> binary, or {hint}.");
        }

        return match.Groups["version"].Value;
    }

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

    [GeneratedRegex(@"QEMU emulator version (?<version>\d+\.\d+(\.\d+)?)", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}
