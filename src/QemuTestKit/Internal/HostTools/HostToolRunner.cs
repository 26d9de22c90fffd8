using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace QemuTestKit.Internal;

/// <summary>
/// The one way the kit runs a short-lived host tool (<c>qemu --version</c>, <c>qemu-img</c>, the KVM probe): bounded by
/// a timeout, standard output and error captured apart, killed with its process tree on timeout and on cancel and then
/// reaped, and started under <see cref="OrphanGuard"/> so that it cannot outlive this process.
/// </summary>
internal static class HostToolRunner
{
    /// <summary>Characters kept per stream: a tool that floods its output must not flood this process's memory.</summary>
    public const int MaxCapturedChars = 1 << 20;

    /// <summary>How long a killed tool may take to be reaped and to close its pipes; SIGKILL is not refused, so this is generous.</summary>
    private static readonly TimeSpan s_killGrace = TimeSpan.FromSeconds(10);

    /// <summary>Runs <paramref name="program"/> and waits for it; see <see cref="RunAsync"/>.</summary>
    /// <exception cref="HostToolException">The program is missing, a folder, not executable, or cannot be started.</exception>
    /// <exception cref="TimeoutException">It did not exit within <paramref name="timeout"/>; it was killed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; it was killed.</exception>
    public static HostToolResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout, string? standardInput = null, CancellationToken cancellationToken = default) =>
        RunAsync(program, arguments, timeout, standardInput, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// Runs <paramref name="program"/> (a path, or a name searched on PATH) with <paramref name="arguments"/>, writes
    /// <paramref name="standardInput"/> (if any) and closes its input, and returns its exit code and output.
    /// </summary>
    /// <exception cref="HostToolException">The program is missing, a folder, not executable, or cannot be started.</exception>
    /// <exception cref="TimeoutException">It did not exit within <paramref name="timeout"/>; it was killed and reaped, and the
    /// message holds the command line and the output so far.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; it was killed and reaped.</exception>
    public static async Task<HostToolResult> RunAsync(
        string program,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        string? standardInput = null,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string path = HostToolSearch.Resolve(program);
        RefuseWhatTheKernelCannotStart(path);
        string[] commandLine = [path, .. arguments];
        using Process process = await StartAsync(commandLine).ConfigureAwait(false);
        Task<string> stdout = ReadBoundedAsync(process.StandardOutput);
        Task<string> stderr = ReadBoundedAsync(process.StandardError);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await WriteInputAsync(process, standardInput, deadline.Token).ConfigureAwait(false);
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);

            // A grandchild that inherited the pipes can keep them open after the tool exits; stop reading at the deadline.
            await Task.WhenAll(stdout, stderr).WaitAsync(deadline.Token).ConfigureAwait(false);
            var result = new HostToolResult(commandLine, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
            return IsGuardExecFailure(result)
                ? throw new HostToolException(HostToolProblem.CannotStart, path, $"'{path}' cannot be started: {result.StandardError.Trim()}")
                : result;
        }
        catch (OperationCanceledException)
        {
            int pid = process.Id;
            await KillAndReapAsync(process).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            string output = (await TextSoFarAsync(stdout).ConfigureAwait(false) + "\n" + await TextSoFarAsync(stderr).ConfigureAwait(false)).Trim();
            throw new TimeoutException(
                $"'{CommandLineText.Format(commandLine)}' did not exit within {timeout.TotalSeconds:0.#} s, so it was killed (pid {pid}). " +
                $"Output so far: {(output.Length == 0 ? "(none)" : output)}");
        }
    }

    /// <summary>
    /// Under the guard, a file the kernel refuses to run fails inside <c>setpriv</c>, which says so and exits 126
    /// (127: not found) instead of the start throwing; it is the same fault, so it gets the same verdict.
    /// </summary>
    private static bool IsGuardExecFailure(HostToolResult result) =>
        OrphanGuard.IsAvailable
        && result.ExitCode is 126 or 127
        && result.StandardError.StartsWith("setpriv: failed to execute", StringComparison.Ordinal);

    /// <summary>
    /// setpriv starts the tool with execvp, which hands a file the kernel refuses (no <c>#!</c> line, not ELF) to
    /// <c>/bin/sh</c>; the tool would then "run" as a shell script and fail with a misleading message. Without the guard
    /// the runtime's exec fails with "Exec format error", which is the truth, so say that.
    /// </summary>
    private static void RefuseWhatTheKernelCannotStart(string path)
    {
        if (!OrphanGuard.IsAvailable)
        {
            return;
        }

        Span<byte> magic = stackalloc byte[4];
        int read;
        try
        {
            using FileStream file = File.OpenRead(path);
            read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Execute-only binaries exist; whether it starts is then the kernel's to say.
            return;
        }

        bool script = read >= 2 && magic[0] == '#' && magic[1] == '!';
        bool elf = read == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        if (!script && !elf)
        {
            throw new HostToolException(
                HostToolProblem.CannotStart, path, $"'{path}' cannot be started: Exec format error (it is neither an ELF binary nor a script with a #! line)");
        }
    }

    private static async Task<Process> StartAsync(string[] commandLine)
    {
        var startInfo = new ProcessStartInfo(OrphanGuard.Prefix.Count > 0 ? OrphanGuard.Prefix[0] : commandLine[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string argument in OrphanGuard.Prefix.Skip(1).Concat(OrphanGuard.Prefix.Count > 0 ? commandLine : commandLine.Skip(1)))
        {
            startInfo.ArgumentList.Add(argument);
        }

        try
        {
            // Started on the long-lived spawn thread: the parent-death signal fires when the forking thread ends.
            return await SpawnThread.RunAsync(() =>
            {
                var process = new Process { StartInfo = startInfo };
                process.Start();
                return process;
            }).ConfigureAwait(false);
        }
        catch (Win32Exception ex)
        {
            throw new HostToolException(HostToolProblem.CannotStart, commandLine[0], $"'{commandLine[0]}' cannot be started: {ex.Message}", ex);
        }
    }

    private static async Task WriteInputAsync(Process process, string? standardInput, CancellationToken cancellationToken)
    {
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken).ConfigureAwait(false);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The tool exited, or closed its input, without reading it all: its exit code and output still tell.
        }
    }

    private static async Task KillAndReapAsync(Process process)
    {
        try
        {
            // Only our own child and its descendants, found by its handle: a wrapper script's children die with it.
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own meanwhile.
        }

        // Waiting for the exit is what reaps it: the runtime collects the status of the children it started.
        using var grace = new CancellationTokenSource(s_killGrace);
        try
        {
            await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A process in uninterruptible sleep ignores SIGKILL until it wakes; it is killed, nothing more can be done.
        }
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader)
    {
        var text = new StringBuilder();
        char[] buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            text.Append(buffer, 0, Math.Min(read, MaxCapturedChars - text.Length));
        }

        return text.ToString();
    }

    private static async Task<string> TextSoFarAsync(Task<string> reader)
    {
        // The kill closed the write ends unless a grandchild holds them; the output is evidence, not worth a hang.
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            return await reader.WaitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            return "(output still open after the kill)";
        }
    }
}
