namespace QemuTestKit.Internal;

/// <summary>
/// A host tool could not be used. The message is one clause that says what is wrong with which path and what it
/// printed (e.g. "'/tmp' is a folder, not a program"), so a caller can put its own subject before it and its own fix
/// after it; <see cref="Problem"/> lets the MSBuild tasks pick their QTK code.
/// </summary>
internal sealed class HostToolException : Exception
{
    public HostToolException(HostToolProblem problem, string path, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Problem = problem;
        ToolPath = path;
    }

    public HostToolProblem Problem { get; }

    public string ToolPath { get; }
}
