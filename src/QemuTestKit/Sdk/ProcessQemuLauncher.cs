using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Internal;

namespace QemuTestKit.Sdk;

/// <summary>
/// Runs QEMU as a child process of this one (the default <see cref="IQemuLauncher"/>). Standard output and error go
/// straight into the log file, standard input is <c>/dev/null</c>, descriptors passed with <see cref="QemuMachine.AddFd"/>
/// are inherited, and QEMU (or its wrapper) runs in a new process group of its own, so a Ctrl-C at the terminal reaches
/// the test host, not QEMU, and a kill reaches every process of the group: a wrapper that forks QEMU as a child (as gdb
/// does) is killed together with that QEMU.
/// </summary>
/// <remarks>
/// Orphans, two guards: when <c>setpriv</c> (util-linux) is on PATH, the started process runs as
/// <c>setpriv --pdeathsig KILL -- …</c> from one long-lived thread, so the kernel kills it when this process dies, even by
/// SIGKILL. That signal reaches only the process itself, not the children of a forking wrapper, so a watchdog
/// (<c>/bin/sh</c>) joins the new process group and waits on a pipe only this process holds open: when this process dies,
/// however it dies, the pipe ends and the watchdog kills the whole group, itself included. A warning is logged when
/// neither guard can be installed.
/// </remarks>
public sealed class ProcessQemuLauncher : IQemuLauncher
{
    private const string WatchdogShell = "/bin/sh";

    // Reads its standard input (the pipe) until end-of-file, which only comes when this process closed its end or
    // died; then kills its own process group (kill 0), which is QEMU's.
    private const string WatchdogScript = "read _; kill -9 0";

    private readonly ILogger _logger;

    /// <summary>Creates a launcher; <paramref name="logger"/> receives the start-up details.</summary>
    public ProcessQemuLauncher(ILogger? logger = null) => _logger = logger ?? NullLogger.Instance;

    /// <summary>The shared instance with no logger.</summary>
    public static ProcessQemuLauncher Default { get; } = new();

    /// <summary>Whether QEMU is killed when this process dies (false when neither <c>setpriv</c> nor <c>/bin/sh</c> is there).</summary>
    public static bool HasOrphanGuard => OrphanGuard.IsAvailable || HostToolSearch.IsExecutable(WatchdogShell);

    /// <inheritdoc />
    public bool QemuCanConnectToHost => true;

    /// <inheritdoc />
    public string QemuListenHost => "127.0.0.1";

    /// <inheritdoc />
    public async Task<IQemuProcess> StartAsync(QemuLaunchSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<string> commandLine = spec.CommandLine;
        string executable = Resolve(commandLine[0]) ?? throw new QemuLaunchException(
            $"Cannot start QEMU: '{commandLine[0]}' was not found{(commandLine[0].Contains('/', StringComparison.Ordinal) ? "" : " on PATH")} or is not executable. "
            + "Check the QEMU binary path (install QEMU with 'apt-get install qemu-system-x86', or set QEMU_BINARY).",
            exitCode: null, commandLine, output: "");

        List<string> argv = [.. OrphanGuard.Prefix];
        if (!OrphanGuard.IsAvailable)
        {
            MachineLog.NoOrphanGuard(_logger);
        }

        argv.Add(executable);
        argv.AddRange(commandLine.Skip(1));
        string[] environment = BuildEnvironment(spec.Environment);

        (int pid, OrphanWatchdog? watchdog) = await SpawnThread.RunAsync(() =>
        {
            int pid = Spawn(argv, environment, stdinFd: -1, spec.LogPath, processGroup: 0);

            // Started before the waiter thread exists, so QEMU cannot have been reaped yet: its group still exists to join.
            return (pid, StartWatchdog(pid));
        }).ConfigureAwait(false);
        MachineLog.Started(_logger, pid);
        if (watchdog is null)
        {
            MachineLog.NoGroupGuard(_logger, pid);
        }

        return new LocalQemuProcess(pid, watchdog);
    }

    /// <summary>Starts the watchdog in process group <paramref name="processGroup"/>; <see langword="null"/> when it cannot start.</summary>
    private static unsafe OrphanWatchdog? StartWatchdog(int processGroup)
    {
        if (!HostToolSearch.IsExecutable(WatchdogShell))
        {
            return null;
        }

        int* fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_CLOEXEC) != 0)
        {
            return null;
        }

        try
        {
            // The read end becomes the watchdog's standard input; the write end stays close-on-exec here, so no other
            // child (QEMU included) holds it open after this process dies.
            int pid = Spawn([WatchdogShell, "-c", WatchdogScript], [], stdinFd: fds[0], "/dev/null", processGroup);
            return new OrphanWatchdog(pid, fds[1]);
        }
        catch (Exception ex) when (ex is QemuLaunchException or InvalidOperationException)
        {
            _ = Libc.close(fds[1]);
            return null;
        }
        finally
        {
            _ = Libc.close(fds[0]);
        }
    }

    /// <summary>
    /// posix_spawn of <paramref name="argv"/>: standard input from <paramref name="stdinFd"/> (or <c>/dev/null</c> when
    /// negative), standard output and error into <paramref name="outputPath"/>, default signal handling, in process group
    /// <paramref name="processGroup"/> (0: a new group led by the child).
    /// </summary>
    private static unsafe int Spawn(List<string> argv, string[] environment, int stdinFd, string outputPath, int processGroup)
    {
        var strings = new List<nint>();
        byte* actions = (byte*)NativeMemory.AllocZeroed(Libc.OpaqueSize);
        byte* attr = (byte*)NativeMemory.AllocZeroed(Libc.OpaqueSize);
        byte* sigmask = (byte*)NativeMemory.AllocZeroed(Libc.OpaqueSize);
        byte* sigdefault = (byte*)NativeMemory.AllocZeroed(Libc.OpaqueSize);
        byte** argvp = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(nint));
        byte** envp = (byte**)NativeMemory.AllocZeroed((nuint)(environment.Length + 1), (nuint)sizeof(nint));
        try
        {
            for (int i = 0; i < argv.Count; i++)
            {
                argvp[i] = Utf8(argv[i], strings);
            }

            for (int i = 0; i < environment.Length; i++)
            {
                envp[i] = Utf8(environment[i], strings);
            }

            Check(Libc.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(Libc.posix_spawnattr_init(attr), "posix_spawnattr_init");
            try
            {
                Check(
                    stdinFd >= 0
                        ? Libc.posix_spawn_file_actions_adddup2(actions, stdinFd, 0)
                        : Libc.posix_spawn_file_actions_addopen(actions, 0, Utf8("/dev/null", strings), Libc.O_RDONLY, 0),
                    "stdin");
                Check(Libc.posix_spawn_file_actions_addopen(actions, 1, Utf8(outputPath, strings), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC, 0x1a4 /* 0644 */), "addopen log");
                Check(Libc.posix_spawn_file_actions_adddup2(actions, 1, 2), "adddup2 stderr");

                // The runtime ignores SIGPIPE and blocks signals on its threads; QEMU must start with the defaults.
                _ = Libc.sigemptyset(sigmask);
                _ = Libc.sigfillset(sigdefault);
                _ = Libc.sigdelset(sigdefault, Libc.SIGKILL);
                _ = Libc.sigdelset(sigdefault, Libc.SIGSTOP);
                Check(Libc.posix_spawnattr_setsigmask(attr, sigmask), "setsigmask");
                Check(Libc.posix_spawnattr_setsigdefault(attr, sigdefault), "setsigdefault");
                Check(Libc.posix_spawnattr_setpgroup(attr, processGroup), "setpgroup");
                Check(Libc.posix_spawnattr_setflags(attr, Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETPGROUP), "setflags");

                int error = Libc.posix_spawn(out int pid, argvp[0], actions, attr, argvp, envp);
                if (error != 0)
                {
                    throw new QemuLaunchException(
                        $"Cannot start '{argv[0]}': posix_spawn failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}); output file '{outputPath}'.",
                        exitCode: null, argv, output: "");
                }

                return pid;
            }
            finally
            {
                _ = Libc.posix_spawn_file_actions_destroy(actions);
                _ = Libc.posix_spawnattr_destroy(attr);
            }
        }
        finally
        {
            foreach (nint p in strings)
            {
                NativeMemory.Free((void*)p);
            }

            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigmask);
            NativeMemory.Free(sigdefault);
            NativeMemory.Free(argvp);
            NativeMemory.Free(envp);
        }
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"{what} failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }
    }

    private static unsafe byte* Utf8(string value, List<nint> allocations)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        byte* p = (byte*)NativeMemory.Alloc((nuint)count + 1);
        allocations.Add((nint)p);
        fixed (char* chars = value)
        {
            Encoding.UTF8.GetBytes(chars, value.Length, p, count);
        }

        p[count] = 0;
        return p;
    }

    private static string[] BuildEnvironment(IReadOnlyDictionary<string, string?> overrides)
    {
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            merged[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        foreach ((string key, string? value) in overrides)
        {
            if (value is null)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        return [.. merged.Select(kv => kv.Key + "=" + kv.Value)];
    }

    private static string? Resolve(string program) =>
        HostToolSearch.IsBareFileName(program) ? HostToolSearch.FindOnPath(program)
        : HostToolSearch.Inspect(program) is null ? Path.GetFullPath(program) : null;
}
