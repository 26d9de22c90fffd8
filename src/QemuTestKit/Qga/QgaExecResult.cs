using System.Text;

namespace QemuTestKit.Qga;

/// <summary>How a process started by <see cref="QgaClient.ExecAsync"/> ended, with what it printed.</summary>
public sealed class QgaExecResult
{
    internal QgaExecResult(long pid, int exitCode, int? signal, byte[] standardOutput, byte[] standardError, bool truncated)
    {
        Pid = pid;
        ExitCode = exitCode;
        Signal = signal;
        StandardOutput = standardOutput;
        StandardError = standardError;
        Truncated = truncated;
    }

    /// <summary>The process id in the guest.</summary>
    public long Pid { get; }

    /// <summary>The exit status; for a process killed by a signal, 128 + the signal number (as a shell reports it).</summary>
    public int ExitCode { get; }

    /// <summary>The signal that killed the process, or <see langword="null"/> when it exited.</summary>
    public int? Signal { get; }

    /// <summary>Everything the process wrote to standard output, as bytes.</summary>
    public byte[] StandardOutput { get; }

    /// <summary>Everything the process wrote to standard error, as bytes.</summary>
    public byte[] StandardError { get; }

    /// <summary><see cref="StandardOutput"/> decoded as UTF-8.</summary>
    public string StandardOutputText => Encoding.UTF8.GetString(StandardOutput);

    /// <summary><see cref="StandardError"/> decoded as UTF-8.</summary>
    public string StandardErrorText => Encoding.UTF8.GetString(StandardError);

    /// <summary>The agent cut standard output or error short (it keeps at most 16 MiB of each).</summary>
    public bool Truncated { get; }
}
