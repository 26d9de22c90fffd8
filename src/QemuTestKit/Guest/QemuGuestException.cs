namespace QemuTestKit;

/// <summary>
/// A guest toolkit call (<see cref="QemuGuest"/>) failed for a reason other than a timeout: a file copy whose checksum
/// did not match (the message names the file and the byte offset), a guest command that failed, a VM without the
/// user-mode NIC or display a call needs. The message carries the evidence and the console tail.
/// </summary>
public sealed class QemuGuestException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public QemuGuestException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    public QemuGuestException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public QemuGuestException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
