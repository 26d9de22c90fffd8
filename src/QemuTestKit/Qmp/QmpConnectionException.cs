using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

/// <summary>
/// The QMP connection failed or ended unexpectedly: no greeting, invalid JSON, an I/O error or QEMU closing the
/// socket while a command was pending. The message names the pending command and ends with the transcript's tail.
/// </summary>
public sealed class QmpConnectionException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public QmpConnectionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QmpConnectionException(string message)
        : base(PrintableText.Of(message))
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public QmpConnectionException(string message, Exception? innerException)
        : base(PrintableText.Of(message), innerException)
    {
    }

    /// <summary>The command that was waiting for its reply when the connection ended, if any.</summary>
    public string? PendingCommand { get; init; }
}
