namespace QemuTestKit;

/// <summary>The result of <see cref="QemuConsole.ExecAsync"/>: the command's exit status and its output (ANSI sequences removed, LF line ends).</summary>
/// <param name="ExitCode">The shell's <c>$?</c> after the command.</param>
/// <param name="Output">Everything the command printed, without the echoed command line and the prompt.</param>
public sealed record ConsoleExecResult(int ExitCode, string Output);
