using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// QEMU could not be launched: the binary is missing, QEMU exited early, or it never connected to QMP in time.
/// The message carries the evidence; so do <see cref="ExitCode"/>, <see cref="CommandLine"/> and <see cref="Output"/>.
/// </summary>
public sealed class QemuLaunchException : QemuMachineException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public QemuLaunchException()
        : this("QEMU could not be launched.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QemuLaunchException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public QemuLaunchException(string message, Exception? innerException)
        : base(message, innerException)
    {
        CommandLine = [];
        Output = "";
    }

    /// <summary>Creates the exception with the evidence: exit code (negative: the signal), command line and QEMU's output.</summary>
    public QemuLaunchException(string message, int? exitCode, IReadOnlyList<string> commandLine, string output, Exception? innerException = null)
        : base(Compose(message, exitCode, commandLine, output), innerException)
    {
        ExitCode = exitCode;
        CommandLine = commandLine ?? [];
        Output = output ?? "";
    }

    /// <summary>QEMU's exit status; negative when a signal ended it (the convention of QEMU's Python QEMUMachine); <see langword="null"/> if it did not exit.</summary>
    public int? ExitCode { get; }

    /// <summary>The full command line (wrapper, binary, arguments).</summary>
    public IReadOnlyList<string> CommandLine { get; }

    /// <summary>Everything QEMU wrote to standard output and error.</summary>
    public string Output { get; }

    private static string Compose(string message, int? exitCode, IReadOnlyList<string>? commandLine, string? output)
    {
        string status = exitCode switch
        {
            null => "QEMU did not exit",
            < 0 => $"QEMU was killed by signal {-exitCode}",
            _ => $"QEMU exit code {exitCode}",
        };
        return $"{message}\n{status}\ncommand: {CommandLineText.Format(commandLine ?? [])}\nQEMU output:\n{CommandLineText.Tail(output ?? "", 40)}";
    }
}
