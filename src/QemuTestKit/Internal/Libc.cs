using System.Runtime.InteropServices;

namespace QemuTestKit.Internal;

/// <summary>
/// The few libc calls .NET does not expose: posix_spawn (so QEMU's output goes straight into its log file and
/// descriptors given to <see cref="QemuMachine.AddFd"/> are inherited), waitid/waitpid (so a signal is told apart
/// from an exit status, which <see cref="System.Diagnostics.Process"/> folds into 128+n), mkdtemp, and pipe2/close for
/// the orphan watchdog's pipe.
/// Linux x86-64/arm64 glibc layouts.
/// </summary>
internal static unsafe partial class Libc
{
    public const int SIGKILL = 9;
    public const int SIGSTOP = 19;
    public const int SIGCONT = 18;
    public const int EINTR = 4;
    public const int ECHILD = 10;
    public const int ESRCH = 3;

    public const short POSIX_SPAWN_SETPGROUP = 0x02;
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;

    public const int P_PID = 1;
    public const int WNOHANG = 1;
    public const int WEXITED = 4;
    public const int WNOWAIT = 0x01000000;

    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;
    public const int O_CLOEXEC = 0x80000;

    /// <summary>Generous upper bounds for opaque glibc structures (posix_spawnattr_t is 336 bytes, file actions 80, sigset_t 128, siginfo_t 128).</summary>
    public const int OpaqueSize = 1024;

    [LibraryImport("libc", SetLastError = false)]
    public static partial int posix_spawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int oflag, uint mode);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigmask);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigdefault);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

    [LibraryImport("libc")]
    public static partial int sigemptyset(void* set);

    [LibraryImport("libc")]
    public static partial int sigfillset(void* set);

    [LibraryImport("libc")]
    public static partial int sigdelset(void* set, int signum);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitid(int idtype, int id, void* infop, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", SetLastError = true)]
    public static partial byte* mkdtemp(byte* template);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}
