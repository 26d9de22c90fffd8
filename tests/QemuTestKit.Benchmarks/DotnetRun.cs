using System.Diagnostics;
using System.Globalization;

namespace QemuTestKit.Benchmarks;

/// <summary>Runs <c>dotnet</c> as a child process: wall time, exit code, output, and the process id while it runs.</summary>
internal static class DotnetRun
{
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromMinutes(9);

    /// <summary>Runs dotnet with <paramref name="environment"/> added; a failure's output goes to standard error.</summary>
    /// <param name="args">dotnet's arguments.</param>
    /// <param name="environment">Variables to set (null values remove one).</param>
    /// <param name="started">Called with the process id once it runs (to watch its children).</param>
    /// <param name="cancellationToken">Kills the run (and its process tree).</param>
    public static async Task<(double Seconds, int ExitCode, string Output)> RunAsync(
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string?> environment,
        Action<int>? started,
        CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach ((string name, string? value) in environment)
        {
            start.Environment[name] = value;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_runTimeout);
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start)!;
        started?.Invoke(process.Id);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        string output = await stdout + await stderr;
        string settings = string.Join(' ', environment.Select(e => $"{e.Key}={e.Value}"));
        if (process.ExitCode != 0)
        {
            Console.Error.WriteLine($"benchmarks: dotnet {string.Join(' ', args)} ({settings}) exited with {process.ExitCode}:\n{output}");
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"benchmarks: dotnet {args[0]} ({settings}) took {seconds:0.00} s, exit code {process.ExitCode}"));
        return (seconds, process.ExitCode, output);
    }
}
