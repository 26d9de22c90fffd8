using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;

namespace QemuTestKit.Internal;

/// <summary>
/// The one check that a file is QEMU: it must be an executable file whose <c>--version</c> exits 0 within
/// <see cref="DefaultTimeout"/> and prints "QEMU emulator version x.y[.z]". The verdict, good or bad, is remembered per
/// path, size and modification time, so a boot that asks several times starts the binary once, and a binary that
/// hangs costs its bound once.
/// </summary>
internal static partial class QemuVersionProbe
{
    /// <summary>
    /// The bound on <c>--version</c>. QEMU answers in tens of milliseconds (it creates no machine for it); ten seconds
    /// leaves two orders of magnitude for a loaded CI box, and is short against any boot timeout.
    /// </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), Lazy<Task<QemuVersion>>> s_verdicts = new();

    /// <summary>Checks <paramref name="path"/> and returns its version; see <see cref="ProbeAsync"/>.</summary>
    /// <exception cref="HostToolException">The file is missing, a folder, not executable, cannot start, hangs, or is not QEMU.</exception>
    public static QemuVersion Probe(string path, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ProbeAsync(path, timeout, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// Checks that <paramref name="path"/> is QEMU and returns what its <c>--version</c> said (remembered while the file is unchanged).
    /// </summary>
    /// <exception cref="HostToolException">The file is missing, a folder, not executable or cannot start; or <c>--version</c> did not
    /// exit within the bound (it was killed: <see cref="HostToolProblem.TimedOut"/>), exited non-zero, or did not print
    /// "QEMU emulator version" (<see cref="HostToolProblem.WrongProgram"/>). The message shows what it printed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<QemuVersion> ProbeAsync(string path, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        string fullPath = System.IO.Path.GetFullPath(path);
        HostToolSearch.EnsureExecutable(fullPath);
        var info = new FileInfo(fullPath);
        var key = (fullPath, info.Length, info.LastWriteTimeUtc);

        // The probe runs without the caller's token, so one caller's cancel does not become everyone's verdict; it is
        // bounded anyway, and the caller stops waiting at once.
        Task<QemuVersion> verdict = s_verdicts.GetOrAdd(key, _ => new(() => RunAsync(fullPath, timeout ?? DefaultTimeout))).Value;
        return verdict.WaitAsync(cancellationToken);
    }

    private static async Task<QemuVersion> RunAsync(string path, TimeSpan timeout)
    {
        HostToolResult result;
        try
        {
            result = await HostToolRunner.RunAsync(path, ["--version"], timeout).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new HostToolException(
                HostToolProblem.TimedOut,
                path,
                $"'{path}' is not a working QEMU: {ex.Message.TrimEnd('.')}",
                ex);
        }

        Match match = VersionPattern().Match(result.StandardOutput);
        if (result.ExitCode != 0 || !match.Success)
        {
            string printed = result.Output.Length == 0 ? "nothing" : $"'{Shorten(result.Output)}'";
            throw new HostToolException(
                HostToolProblem.WrongProgram,
                path,
                $"'{path}' is not QEMU: '{result.CommandText}' exited with {result.ExitCode.ToString(CultureInfo.InvariantCulture)} and printed {printed} " +
                "(QEMU exits with 0 and prints 'QEMU emulator version …')");
        }

        return new QemuVersion(path, match.Groups["version"].Value, result.StandardOutput.Trim().ReplaceLineEndings("\n"));
    }

    private static string Shorten(string output)
    {
        const int Max = 2000;
        return output.Length <= Max ? output : "…" + output[^Max..];
    }

    [GeneratedRegex(@"QEMU emulator version (?<version>\d+\.\d+(\.\d+)?)", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}
