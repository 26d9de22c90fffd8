namespace QemuTestKit;

/// <summary>
/// A graceful shutdown was requested but not performed (the seed's <c>AbnormalShutdown</c>): QMP <c>quit</c> failed or
/// QEMU did not exit in time, so it was killed. <see cref="Exception.InnerException"/> holds the cause.
/// </summary>
public sealed class AbnormalShutdownException : QemuMachineException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public AbnormalShutdownException()
        : base("Could not perform graceful shutdown.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public AbnormalShutdownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    public AbnormalShutdownException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
