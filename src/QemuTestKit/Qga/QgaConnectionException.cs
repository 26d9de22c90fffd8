namespace QemuTestKit.Qga;

/// <summary>
/// The channel to the guest agent failed or ended unexpectedly (end-of-file, an I/O error, the client closed): every
/// pending call fails with it. The message names the pending command and ends with the transcript's tail.
/// </summary>
public sealed class QgaConnectionException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public QgaConnectionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QgaConnectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public QgaConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The command that was waiting for its reply when the channel ended, if any.</summary>
    public string? PendingCommand { get; init; }
}
