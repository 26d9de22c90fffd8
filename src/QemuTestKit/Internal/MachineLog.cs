using Microsoft.Extensions.Logging;

namespace QemuTestKit.Internal;

/// <summary>The log messages of the machine, launcher and console (source-generated, cheap when disabled).</summary>
internal static partial class MachineLog
{
    [LoggerMessage(1, LogLevel.Warning, "setpriv was not found on PATH: QEMU will outlive this process if it dies")]
    public static partial void NoOrphanGuard(ILogger logger);

    [LoggerMessage(2, LogLevel.Debug, "Started QEMU, pid {Pid}")]
    public static partial void Started(ILogger logger, int pid);

    [LoggerMessage(3, LogLevel.Debug, "{Name}: VM launch command: {CommandLine}")]
    public static partial void LaunchCommand(ILogger logger, string name, string commandLine);

    [LoggerMessage(4, LogLevel.Debug, "{Name}: error launching VM; command: {CommandLine}; output: {Output}")]
    public static partial void LaunchFailed(ILogger logger, Exception exception, string name, string commandLine, string output);

    [LoggerMessage(5, LogLevel.Warning, "{Name}: qemu received signal {Signal}; command: \"{CommandLine}\"")]
    public static partial void UnexpectedSignal(ILogger logger, string name, int signal, string commandLine);

    [LoggerMessage(6, LogLevel.Warning, "{Name}: exception closing QMP connection: {Message}")]
    public static partial void QmpCloseFailed(ILogger logger, string name, string message);

    [LoggerMessage(7, LogLevel.Warning, "{Name}: graceful shutdown failed, killing QEMU: {Message}")]
    public static partial void SoftShutdownFailed(ILogger logger, Exception exception, string name, string message);

    [LoggerMessage(8, LogLevel.Warning, "{Name}: cleanup step failed: {Message}")]
    public static partial void CleanupFailed(ILogger logger, Exception exception, string name, string message);

    [LoggerMessage(9, LogLevel.Debug, "{Name}: socket path '{Path}' exceeds the unix limit; using '{ShortDirectory}' for sockets")]
    public static partial void ShortSocketDirectory(ILogger logger, string name, string path, string shortDirectory);

    [LoggerMessage(10, LogLevel.Warning, "console: writing the console log failed: {Message}")]
    public static partial void ConsoleLogFailed(ILogger logger, string message);

    [LoggerMessage(11, LogLevel.Debug, "console: read loop ended: {Message}")]
    public static partial void ConsoleClosed(ILogger logger, string message);

    [LoggerMessage(12, LogLevel.Warning, "The orphan watchdog for QEMU pid {Pid} could not start (/bin/sh missing?): children of a forking wrapper will outlive this process if it dies")]
    public static partial void NoGroupGuard(ILogger logger, int pid);

    [LoggerMessage(13, LogLevel.Warning, "{Name}: {Message}")]
    public static partial void AbnormalShutdown(ILogger logger, Exception exception, string name, string message);

    [LoggerMessage(14, LogLevel.Debug, "Removed '{Path}', left by process {Pid}, which is gone")]
    public static partial void SweptDirectory(ILogger logger, string path, int pid);
}
