namespace QemuTestKit.Internal;

/// <summary>How a host tool run by <see cref="HostToolRunner"/> ended: its exit code and what it printed.</summary>
/// <param name="CommandLine">The tool and its arguments, without the orphan guard's prefix.</param>
/// <param name="ExitCode">The exit code (128 + n for a signal, as the shell says it).</param>
/// <param name="StandardOutput">What it printed on standard output (the first <see cref="HostToolRunner.MaxCapturedChars"/> characters).</param>
/// <param name="StandardError">What it printed on standard error (the same bound).</param>
internal sealed record HostToolResult(IReadOnlyList<string> CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>The command line as a shell would take it, for messages.</summary>
    public string CommandText => CommandLineText.Format(CommandLine);

    /// <summary>Standard output then standard error, trimmed, for messages.</summary>
    public string Output => (StandardOutput.TrimEnd() + "\n" + StandardError.TrimEnd()).Trim();
}
