namespace QemuTestKit.Build.Internal;

/// <summary>A failure the user can fix; the task logs it as an error with <see cref="Code"/>.</summary>
internal sealed class QemuBuildException : Exception
{
    public QemuBuildException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    public string Code { get; }
}
