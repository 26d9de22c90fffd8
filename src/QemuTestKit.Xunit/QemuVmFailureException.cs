using QemuTestKit.Internal;

namespace QemuTestKit.Xunit;

/// <summary>
/// The class's VM failed: it did not boot, died during a test, or could not be shut down gracefully. The message
/// carries the evidence (QEMU's exit status, command line and output, the console tail), made printable: control
/// characters such as terminal escapes are shown as <c>\x1b</c>, so the message is safe in XML reports and on a
/// terminal. The artifacts folder holds the rest, raw.
/// </summary>
public sealed class QemuVmFailureException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QemuVmFailureException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QemuVmFailureException(string message)
        : base(PrintableText.Of(message))
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public QemuVmFailureException(string message, Exception? innerException)
        : base(PrintableText.Of(message), innerException)
    {
    }
}
