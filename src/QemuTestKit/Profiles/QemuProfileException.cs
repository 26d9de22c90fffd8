using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// A profile could not be found or is invalid. The message names the profile, the field and the file that defines it.
/// </summary>
public sealed class QemuProfileException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QemuProfileException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QemuProfileException(string message)
        : base(PrintableText.Of(message))
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public QemuProfileException(string message, Exception innerException)
        : base(PrintableText.Of(message), innerException)
    {
    }

    /// <summary>Creates the exception for one profile (and field, if known).</summary>
    public QemuProfileException(string message, string? profile, string? field, string? source, Exception? innerException = null)
        : base(PrintableText.Of(message), innerException)
    {
        Profile = profile;
        Field = field;
        SourceFile = source;
    }

    /// <summary>The profile at fault, if known.</summary>
    public string? Profile { get; }

    /// <summary>The profile field at fault (JSON name), if known.</summary>
    public string? Field { get; }

    /// <summary>The file that defines the profile, if any.</summary>
    public string? SourceFile { get; }
}
