using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace QemuTestKit.Build.Internal;

/// <summary>Runs a short-lived tool (qemu --version, qemu-img) and captures its output, bounded by a timeout.</summary>
internal static class ProcessRunner
{
    internal sealed record Result(int ExitCode, string Output, string CommandLine);

    /// <exception cref="Win32Exception">The file could not be started (not executable, wrong format).</exception>
    /// <exception cref="TimeoutException">The process did not exit in time; it has been killed.</exception>
    public static Result Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        string commandLine = string.Join(' ', new[] { fileName }.Concat(arguments).Select(Quote));
        var output = new StringBuilder();
        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            process.WaitForExitAsync(timeoutSource.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // Only our own child, by its handle: never leave a hung tool behind the build.
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"'{commandLine}' did not exit within {timeout.TotalSeconds:0} s; it was killed. Output: {Tail(output)}");
        }

        // The parameterless wait drains the asynchronous output readers.
        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString(), commandLine);
    }

    public static string Tail(StringBuilder output) => Tail(output.ToString());

    public static string Tail(string output)
    {
        const int Max = 2000;
        string trimmed = output.Trim();
        return trimmed.Length <= Max ? trimmed : "…" + trimmed[^Max..];
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.IndexOfAny([' ', '"', '\'']) < 0 ? argument : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
