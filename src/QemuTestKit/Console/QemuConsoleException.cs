namespace QemuTestKit;

/// <summary>
/// A console wait failed: a failure pattern (such as <c>Kernel panic</c>) appeared, or the console closed before the
/// pattern did. The message and <see cref="ConsoleTail"/> hold the last lines the console printed.
/// </summary>
public sealed class QemuConsoleException : QemuMachineException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public QemuConsoleException()
        : this("Console error.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QemuConsoleException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public QemuConsoleException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ConsoleTail = "";
    }

    /// <summary>Creates the exception with the console tail appended to <paramref name="message"/>.</summary>
    public QemuConsoleException(string message, string consoleTail, Exception? innerException = null)
        : base($"{message}\nconsole (last lines):\n{consoleTail}", innerException)
    {
        ConsoleTail = consoleTail ?? "";
    }

    /// <summary>The last lines of console output when the wait failed.</summary>
    public string ConsoleTail { get; }
}
