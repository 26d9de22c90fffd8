using QemuTestKit.Internal;

namespace QemuTestKit.Tests.Machine;

/// <summary>Sends signals to processes the tests started (by PID), and ends what they stopped.</summary>
internal static class Signals
{
    public const int SIGKILL = Libc.SIGKILL;
    public const int SIGCONT = Libc.SIGCONT;
    public const int SIGSTOP = Libc.SIGSTOP;

    public static void Send(int pid, int signal) => Assert.Equal(0, Libc.kill(pid, signal));

    /// <summary>Resumes and kills <paramref name="pid"/> if it is still there (a test's cleanup; errors ignored).</summary>
    public static void ResumeAndKill(int pid)
    {
        _ = Libc.kill(pid, SIGCONT);
        _ = Libc.kill(pid, SIGKILL);
    }
}
