namespace QemuTestKit.Build.Internal;

/// <summary>A failure the user can fix; the task logs it as an error with <see cref="Code"/>, at <see cref="File"/> when known.</summary>
internal sealed class QemuBuildException : Exception
{
    public QemuBuildException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    public string Code { get; }

    /// <summary>The user's file at fault (a <c>qemu-profiles.json</c>), so IDEs and build logs point at it.</summary>
    public string? File { get; init; }

    /// <summary>One-based line in <see cref="File"/>; 0 when unknown.</summary>
    public int Line { get; init; }

    /// <summary>One-based column in <see cref="File"/>; 0 when unknown.</summary>
    public int Column { get; init; }
}
