namespace QemuTestKit.Xunit;

/// <summary>
/// Thrown by <see cref="Snapshot.Match"/> when the text differs from the verified snapshot, or when the
/// snapshot is missing in a CI run. The message holds the unified diff (or the new text) and says how to accept it.
/// xunit reports it as an assertion failure.
/// </summary>
public sealed class SnapshotMismatchException : Exception, IAssertionException
{
    /// <summary>Creates the exception with a message only.</summary>
    public SnapshotMismatchException()
        : this("The text does not match its snapshot.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SnapshotMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public SnapshotMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal SnapshotMismatchException(string message, string verifiedFilePath, string receivedFilePath)
        : base(message)
    {
        VerifiedFilePath = verifiedFilePath;
        ReceivedFilePath = receivedFilePath;
    }

    /// <summary>The <c>.verified.txt</c> file the text was compared with (it may not exist).</summary>
    public string? VerifiedFilePath { get; }

    /// <summary>The <c>.received.txt</c> file the text was written to.</summary>
    public string? ReceivedFilePath { get; }
}
