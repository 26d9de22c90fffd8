namespace QemuTestKit.Xunit;

/// <summary>
/// The class's VM failed: it did not boot, died during a test, or could not be shut down gracefully. The message
/// carries the evidence (QEMU's exit status and output, the console tail); the artifacts folder holds the rest.
/// </summary>
public sealed class QemuVmFailureException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QemuVmFailureException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QemuVmFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public QemuVmFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
