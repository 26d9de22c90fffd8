namespace QemuTestKit.Internal;

/// <summary>
/// Makes a child process die with this one: when <c>setpriv</c> (util-linux) is on PATH, children are started as
/// <c>setpriv --pdeathsig KILL -- …</c>, and the kernel kills them when their parent dies, even by SIGKILL. The signal
/// follows the <em>thread</em> that forked the child, so every guarded child is started on <see cref="SpawnThread"/>.
/// </summary>
internal static class OrphanGuard
{
    private static readonly Lazy<string?> s_setpriv = new(() => OperatingSystem.IsLinux() ? HostToolSearch.FindOnPath("setpriv") : null);

    /// <summary>Whether children are guarded (false when <c>setpriv</c> is missing, or off Linux).</summary>
    public static bool IsAvailable => s_setpriv.Value is not null;

    /// <summary>The words to put before a child's argv: <c>setpriv --pdeathsig KILL --</c>, or nothing.</summary>
    public static IReadOnlyList<string> Prefix => s_setpriv.Value is { } setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : [];
}
