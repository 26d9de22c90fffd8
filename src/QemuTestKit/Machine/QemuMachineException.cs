using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>An error in <see cref="QemuMachine"/> (QEMUMachine's <c>QEMUMachineError</c>): misuse, or a QEMU that misbehaved.</summary>
public class QemuMachineException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public QemuMachineException()
        : base("QEMU machine error.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QemuMachineException(string message)
        : base(PrintableText.Of(message))
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public QemuMachineException(string message, Exception? innerException)
        : base(PrintableText.Of(message), innerException)
    {
    }
}
