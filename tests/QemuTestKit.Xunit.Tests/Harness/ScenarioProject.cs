using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// One build for the whole assembly: as a class fixture, each class using it built the same project at the same
// time, and the two builds collided on the shared output files.
[assembly: AssemblyFixture(typeof(QemuTestKit.Xunit.Tests.Harness.ScenarioProject))]

namespace QemuTestKit.Xunit.Tests.Harness;

/// <summary>
/// Builds the scenarios project (Assets/Scenarios) once, writes its <c>qemu-profiles.json</c>, and runs it with
/// <c>dotnet test --filter-class</c> as a subprocess, the way a user runs tests: outcomes, exit code and output are what
/// the harness asserts.
/// </summary>
public sealed class ScenarioProject : IAsyncLifetime
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    private readonly string _root = Directory.CreateTempSubdirectory("qtk-scenarios-").FullName;

    public string RepositoryRoot { get; } = FindRepositoryRoot();

    public string ProjectPath => Path.Combine(RepositoryRoot, "tests", "QemuTestKit.Xunit.Tests", "Assets", "Scenarios", "Scenarios.csproj");

    public string OutputDirectory => Path.Combine(RepositoryRoot, "artifacts", "bin", "Scenarios", Configuration);

    private static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}release", StringComparison.Ordinal) ? "release" : "debug";

    public async ValueTask InitializeAsync()
    {
        (int exitCode, string output) = await RunProcessAsync(
            ["build", ProjectPath, "-c", Configuration, "--disable-build-servers", "-nodeReuse:false", "--nologo"],
            new Dictionary<string, string?>(),
            BuildTimeout,
            TestContext.Current.CancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Building {ProjectPath} failed (exit code {exitCode}):\n{output}");
        }

        WriteProfiles();
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return default;
    }

    /// <summary>The profiles the scenarios use, beside the built assembly, with absolute paths to the tiny guest.</summary>
    private void WriteProfiles()
    {
        string guest = BuiltInProfiles.FindGuestDirectory(OutputDirectory);
        string kernel = Path.Combine(guest, "vmlinuz");
        string initrd = Path.Combine(guest, "initramfs.cpio.gz");
        JsonObject Guest(string kernelPath, string append) => new()
        {
            ["kernel"] = kernelPath,
            ["initrd"] = initrd,
            ["append"] = append,
            ["memory"] = "256M",
            ["readyPattern"] = "QEMUTESTKIT-READY",
        };

        JsonObject missingKernel = Guest("/nonexistent/qemutestkit/vmlinuz", "console=ttyS0");
        missingKernel["bootTimeoutSeconds"] = 60;

        // No init in the initramfs and no root disk: the kernel panics ("VFS: Unable to mount root fs").
        JsonObject panic = Guest(kernel, "console=ttyS0 panic=-1 rdinit=/no-such-init");
        panic["failurePatterns"] = new JsonArray("Kernel panic");

        JsonObject quickShutdown = Guest(kernel, "console=ttyS0 quiet panic=-1 no_timer_check");
        quickShutdown["prompt"] = "qtk# ";
        quickShutdown["shutdownTimeoutSeconds"] = 3;

        // The guest toolkit's scenarios: a VGA display for screenshots.
        JsonObject display = Guest(kernel, "console=ttyS0 quiet panic=-1 no_timer_check");
        display["prompt"] = "qtk# ";
        display["args"] = new JsonArray("-display", "none", "-device", "VGA");

        // Evidence on failure: a memory dump and two HMP commands; 128M keeps the dump small.
        JsonObject evidence = Guest(kernel, "console=ttyS0 quiet panic=-1 no_timer_check");
        evidence["prompt"] = "qtk# ";
        evidence["memory"] = "128M";
        evidence["onFailure"] = new JsonArray("dump-guest-memory", "info registers", "info mtree");

        // The tiny guest in a container (the image start-dockerd.sh builds), for the keep setting's container case.
        JsonObject container = Guest(kernel, "console=ttyS0 quiet panic=-1 no_timer_check");
        container["prompt"] = "qtk# ";
        container["runner"] = "container";

        var profiles = new JsonObject
        {
            ["tiny-container"] = container,
            ["tiny-evidence"] = evidence,
            ["tiny-display"] = display,
            ["missing-kernel"] = missingKernel,
            ["panic"] = panic,
            ["tiny-quick-shutdown"] = quickShutdown,
        };
        File.WriteAllText(
            Path.Combine(OutputDirectory, "qemu-profiles.json"),
            new JsonObject { ["profiles"] = profiles }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Runs the given classes of the scenarios project and checks that no QEMU it started is left running.</summary>
    public Task<ScenarioResult> RunAsync(IEnumerable<string> classes, IReadOnlyDictionary<string, string?>? environment = null, CancellationToken cancellationToken = default) =>
        RunAsync(classes, environment, [], cancellationToken);

    /// <summary>Runs the given classes with more <c>dotnet test</c> arguments (report options, say).</summary>
    public async Task<ScenarioResult> RunAsync(
        IEnumerable<string> classes,
        IReadOnlyDictionary<string, string?>? environment,
        IReadOnlyList<string> extraArguments,
        CancellationToken cancellationToken = default)
    {
        (ScenarioResult result, List<int> leftovers) = await RunLeavingAsync(classes, environment, extraArguments, cancellationToken);
        Assert.True(leftovers.Count == 0, $"QEMU processes of the scenario run are still running: {string.Join(", ", leftovers)}\n{result.Output}");
        return result;
    }

    /// <summary>
    /// Runs the given classes and returns the QEMU processes of the run still running after it (kept VMs): the caller
    /// must stop every one of them.
    /// </summary>
    public async Task<(ScenarioResult Result, List<int> Leftovers)> RunLeavingAsync(
        IEnumerable<string> classes,
        IReadOnlyDictionary<string, string?>? environment,
        IReadOnlyList<string> extraArguments,
        CancellationToken cancellationToken = default)
    {
        string run = Guid.NewGuid().ToString("N");
        string runDirectory = Directory.CreateDirectory(Path.Combine(_root, run)).FullName;
        string log = Path.Combine(runDirectory, "scenario.log");
        string results = Path.Combine(runDirectory, "results");
        var env = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>())
        {
            ["QTK_SCENARIO_LOG"] = log,
            ["QTK_SCENARIO_RUN"] = run,
        };
        env.TryAdd("QEMUTESTKIT_MAX_VMS", null);

        // Nothing is kept or debugged unless a test asks (a developer's own settings must not leak into scenarios).
        env.TryAdd("QEMUTESTKIT_KEEP", null);
        env.TryAdd("QEMUTESTKIT_GDB", null);

        // Scenarios boot cold unless a test turns warm start on, and never touch the user's warm-start cache.
        env.TryAdd("QEMUTESTKIT_WARMSTART", "0");
        env.TryAdd("QEMUTESTKIT_WARMSTART_DIR", Path.Combine(_root, "warmstart"));

        var args = new List<string> { "test", "--project", ProjectPath, "-c", Configuration, "--no-build", "--no-progress", "--no-ansi", "--results-directory", results };
        foreach (string name in classes)
        {
            args.AddRange(["--filter-class", "Scenarios." + name]);
        }

        args.AddRange(extraArguments);

        (int exitCode, string output) = await RunProcessAsync(args, env, RunTimeout, cancellationToken);
        List<int> leftovers = QemuProcessesOfRun(run);
        string[] lines = File.Exists(log) ? File.ReadAllLines(log) : [];
        return (new ScenarioResult(exitCode, output, lines, results), leftovers);
    }

    /// <summary>QEMU processes whose environment carries this run's marker (QEMU inherits the test process's environment).</summary>
    public static List<int> QemuProcessesOfRun(string run)
    {
        var found = new List<int>();
        byte[] marker = Encoding.UTF8.GetBytes("QTK_SCENARIO_RUN=" + run);
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string comm = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                if (comm.StartsWith("qemu-system", StringComparison.Ordinal)
                    && File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(marker) >= 0
                    && !File.ReadAllText(Path.Combine(dir, "stat")).Contains(") Z ", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked, or not ours to read.
            }
        }

        return found;
    }

    private static async Task<(int ExitCode, string Output)> RunProcessAsync(
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string?> environment,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        // This process runs under `dotnet test` itself; the child must not think it is part of that session.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("TESTINGPLATFORM_", StringComparison.Ordinal) || k.StartsWith("DOTNET_CLI_TEST_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string key, string? value) in environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }

        using Process process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var output = new StringBuilder();
        Task stdout = PumpAsync(process.StandardOutput, output);
        Task stderr = PumpAsync(process.StandardError, output);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {timeout}:\n{output}");
        }

        await Task.WhenAll(stdout, stderr);
        return (process.ExitCode, output.ToString());
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder output)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QemuTestKit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"QemuTestKit.sln was not found above {AppContext.BaseDirectory}.");
    }
}
