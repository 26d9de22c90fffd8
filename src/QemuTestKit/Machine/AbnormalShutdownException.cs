namespace QemuTestKit;

/// <summary>
/// A graceful shutdown was requested but not performed (QEMU's Python QEMUMachine's <c>AbnormalShutdown</c>): QMP
/// <c>quit</c> failed, QEMU did not exit in time, or QEMU was stopped (state T) and could do neither, so it was killed.
/// <see cref="Exception.InnerException"/> holds the cause. <see cref="QemuMachine.ShutdownAsync"/> throws it;
/// <see cref="QemuMachine.DisposeAsync"/> logs it and keeps it in <see cref="QemuMachine.AbnormalShutdown"/>.
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
