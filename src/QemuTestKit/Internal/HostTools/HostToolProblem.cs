namespace QemuTestKit.Internal;

/// <summary>Why a host tool (QEMU, qemu-img, setpriv) could not be used; callers map it to their own error codes.</summary>
internal enum HostToolProblem
{
    /// <summary>The path does not exist, or the name is on no folder searched.</summary>
    Missing,

    /// <summary>The path is a folder, not a program.</summary>
    Directory,

    /// <summary>The file has no execute bit.</summary>
    NotExecutable,

    /// <summary>The kernel refused to start it (wrong format, missing interpreter).</summary>
    CannotStart,

    /// <summary>It did not exit within its bound and was killed.</summary>
    TimedOut,

    /// <summary>It ran, but is not what it was expected to be (e.g. <c>--version</c> does not say QEMU).</summary>
    WrongProgram,
}
