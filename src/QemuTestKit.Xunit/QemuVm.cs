using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using QemuTestKit.Qmp;
using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

/// <summary>
/// The test class's own QEMU virtual machine. Declare the class with <see cref="QemuMachineAttribute"/> and take a
/// <see cref="QemuVm"/> constructor parameter: the VM boots before the class's first test (waiting for the profile's
/// ready pattern), is shared by its tests, and is shut down after the last one.
/// </summary>
/// <remarks>
/// Failures are test failures: a VM that did not boot fails every test of the class with QEMU's output and the console
/// tail; a VM that dies during a test fails that test, and later tests fail at once with the reason; a VM that cannot
/// be shut down gracefully fails the run (a class cleanup failure). Failed tests get the console log, QEMU's output
/// and the QMP transcript attached; the class's artifacts stay in <see cref="ArtifactsDirectory"/>.
/// </remarks>
public sealed class QemuVm : IAsyncLifetime, INotifyTestLifecycleAsync
{
    private const int ConsoleTailLines = 30;

    private readonly StringBuilder _bootLog = new();
    private readonly Stopwatch _clock = new();
    private QemuMachine? _machine;
    private QemuProfile? _profile;
    private VmArtifacts? _artifacts;
    private VmLimiter.Lease? _lease;
    private QmpTranscript? _transcript;
    private string _className = "(unknown class)";
    private string? _bootFailure;
    private Exception? _bootException;
    private string? _death;
    private bool _bootLogShown;

    /// <summary>The running machine (the port of QEMU's <c>QEMUMachine</c>).</summary>
    /// <exception cref="QemuVmFailureException">The VM did not boot.</exception>
    public QemuMachine Machine => _machine is not null && _bootFailure is null ? _machine : throw NotAvailable();

    /// <summary>The VM's serial console.</summary>
    /// <exception cref="QemuVmFailureException">The VM did not boot.</exception>
    /// <exception cref="QemuMachineException">The profile has no console.</exception>
    public QemuConsole Console => Machine.Console;

    /// <summary>The VM's QMP connection.</summary>
    /// <exception cref="QemuVmFailureException">The VM did not boot.</exception>
    public QmpClient Qmp => Machine.Qmp;

    /// <summary>The resolved profile the VM was booted from.</summary>
    /// <exception cref="QemuVmFailureException">The profile could not be resolved.</exception>
    public QemuProfile Profile => _profile ?? throw NotAvailable();

    /// <summary>The class's artifacts folder (console log, QEMU log, QMP transcript), under the test results folder.</summary>
    public string ArtifactsDirectory => _artifacts?.Directory ?? "";

    /// <summary>How long the boot took, from launching QEMU to the ready pattern.</summary>
    public TimeSpan BootTime { get; private set; }

    /// <summary>How the VM started: booted cold, booted and saved for later classes, or restored from the saved state (warm start).</summary>
    public WarmStartMode StartMode { get; private set; }

    /// <summary>The accelerator QEMU runs with: <c>kvm</c> or <c>tcg</c>.</summary>
    public string Accelerator { get; private set; } = "";

    async ValueTask IAsyncLifetime.InitializeAsync()
    {
        _clock.Start();
        ITestContext context = TestContext.Current;
        Type? testClass = (context.TestClass as IXunitTestClass)?.Class;
        _className = testClass?.FullName ?? _className;
        QemuMachineAttribute? attribute = testClass?.GetCustomAttribute<QemuMachineAttribute>(inherit: true);
        if (testClass is null || attribute is null)
        {
            _bootFailure = $"{nameof(QemuVm)} is created by [QemuMachine(\"profile\")] on the test class; {_className} has no such attribute.";
            return;
        }

        _artifacts = new VmArtifacts(ArtifactsLocation.ForClass(_className));
        try
        {
            _artifacts.Reset();
            await BootAsync(testClass.Assembly, attribute.Profile, context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Stored, not thrown: every test of the class then fails with the full story and gets the artifacts
            // attached, which a throw from here (reported once, before any test runs) cannot do.
            _bootException = ex;
            await StopAfterBootFailureAsync().ConfigureAwait(false);
            _bootFailure = DescribeBootFailure(attribute.Profile, ex);
            Progress($"boot failed after {Seconds(_clock.Elapsed)}: {FirstLine(ex.Message)}");
            _artifacts.Write(VmArtifacts.Summary, _bootFailure);
        }
    }

    private async Task BootAsync(Assembly testAssembly, string profileName, CancellationToken cancellationToken)
    {
        string assemblyDirectory = Path.GetDirectoryName(testAssembly.Location) is { Length: > 0 } dir ? dir : AppContext.BaseDirectory;
        QemuProfile profile = QemuProfiles.Load(assemblyDirectory).Get(profileName);
        _profile = profile;

        if (VmLimiter.Running >= VmLimiter.Limit && VmLimiter.Limit > 0)
        {
            Progress($"waiting for a VM slot ({VmLimiter.Running} of {VmLimiter.Limit} running, limit from {VmLimiter.LimitSource})");
        }

        _lease = await VmLimiter.AcquireAsync(testAssembly, cancellationToken).ConfigureAwait(false);

        // Decided once: the boot line says what QEMU really runs, and the boot runs exactly this plan.
        QemuLaunchPlan plan = QemuLaunchPlan.Resolve(profile);
        Accelerator = plan.Accelerator.ToString().ToLowerInvariant();
        Progress($"booting '{profile.Name}' for {_className} ({Describe(profile)}, {Accelerator.ToUpperInvariant()}; VM {VmLimiter.Running} of at most {VmLimiter.Limit})");

        var started = Stopwatch.StartNew();
        QemuBootResult start = await QemuBoot.StartAsync(
            plan,
            new QemuBootOptions
            {
                // QEMU writes its own output to <LogDir>/<Name>.log as it runs: straight into the artifacts folder.
                Machine = new QemuMachineOptions
                {
                    Name = VmArtifacts.MachineName,
                    LogDir = _artifacts!.Directory,
                    ConsoleLogPath = profile.Console is null ? null : _artifacts.ConsoleLogPath,
                },
                Progress = Progress,
                MachineCreated = machine => _machine = machine,
                Launched = machine =>
                {
                    _transcript = machine.Qmp.Transcript;
                    Progress($"QEMU started (pid {machine.Pid}) and answered QMP in {Seconds(started.Elapsed)}");
                },
                ContainerLauncher = testAssembly.GetCustomAttribute<QemuContainerLauncherAttribute>()?.Factory,
            },
            cancellationToken).ConfigureAwait(false);
        StartMode = start.StartMode;

        BootTime = started.Elapsed;
        Progress(StartMode == WarmStartMode.Restored ? $"'{profile.Name}' restored from its saved state; console answered in {Seconds(BootTime)}"
            : profile.ReadyPattern is null
            ? $"'{profile.Name}' ready in {Seconds(BootTime)}"
            : $"'{profile.Name}' booted to /{profile.ReadyPattern}/ in {Seconds(BootTime)}");
    }

    ValueTask INotifyTestLifecycleAsync.OnTestStartingAsync(IXunitTest test)
    {
        if (_bootFailure is not null)
        {
            AttachArtifacts();
            throw new QemuVmFailureException(_bootFailure, _bootException);
        }

        if (_death is not null)
        {
            AttachArtifacts();
            throw new QemuVmFailureException($"This class's VM is gone: {_death}");
        }

        if (!_bootLogShown)
        {
            _bootLogShown = true;
            TestContext.Current.TestOutputHelper?.Write(BootLog());
        }

        return default;
    }

    ValueTask INotifyTestLifecycleAsync.OnTestFinishedAsync(IXunitTest test)
    {
        if (_machine is null || _bootFailure is not null || _death is not null)
        {
            return default;
        }

        if (!_machine.IsRunning)
        {
            int? exitCode = _machine.ExitCode;
            _death = $"QEMU {DescribeExit(exitCode)} during test '{test.TestDisplayName}'.";
            Progress(_death);
            WriteArtifacts();
            AttachArtifacts();

            // A guest that powers itself off cleanly did what the test asked; anything else is a crash.
            if (exitCode != 0)
            {
                throw new QemuVmFailureException(
                    $"{_death}\n{Evidence()}");
            }

            return default;
        }

        if (TestContext.Current.TestState?.Result == TestResult.Failed)
        {
            WriteArtifacts();
            AttachArtifacts();
        }

        return default;
    }

    async ValueTask IAsyncDisposable.DisposeAsync()
    {
        QemuVmFailureException? failure = null;
        try
        {
            if (_machine is not null && _bootFailure is null)
            {
                failure = await ShutdownAsync(_machine, _profile!).ConfigureAwait(false);
            }
        }
        finally
        {
            if (_machine is not null)
            {
                WriteArtifacts();
                try
                {
                    // A no-op after a shutdown (graceful or not); it only matters if something above threw.
                    await _machine.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is QemuMachineException or TimeoutException)
                {
                    failure ??= new QemuVmFailureException($"The VM of {_className} could not be cleaned up: {ex.Message}", ex);
                }
            }

            _lease?.Release();
        }

        if (failure is not null)
        {
            _artifacts?.Write(VmArtifacts.Summary, failure.Message);
            throw failure;
        }
    }

    private async Task<QemuVmFailureException?> ShutdownAsync(QemuMachine machine, QemuProfile profile)
    {
        if (!machine.IsRunning)
        {
            // QEMU is gone already: collect it (QMP, sockets, temp dir, log) without asking it to quit.
            try
            {
                await machine.KillAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is QemuMachineException or TimeoutException)
            {
                Progress($"cleanup after QEMU exited: {FirstLine(ex.Message)}");
            }

            if (_death is not null)
            {
                return null; // already reported by the test it happened in
            }

            int? exitCode = machine.ExitCode;
            Progress($"QEMU {DescribeExit(exitCode)} after the last test");
            return exitCode == 0
                ? null
                : new QemuVmFailureException($"The VM of {_className} {DescribeExit(exitCode)} after its last test, before the kit shut it down.\n{Evidence()}");
        }

        var stopping = Stopwatch.StartNew();
        try
        {
            await machine.ShutdownAsync(hard: false, timeout: profile.ShutdownTimeout).ConfigureAwait(false);
            Progress($"'{profile.Name}' shut down in {Seconds(stopping.Elapsed)}; artifacts in {ArtifactsDirectory}");
            return null;
        }
        catch (Exception ex) when (ex is AbnormalShutdownException or QemuMachineException or TimeoutException)
        {
            Progress($"graceful shutdown failed after {Seconds(stopping.Elapsed)}: {FirstLine(ex.Message)}");
            return new QemuVmFailureException(
                $"The VM of {_className} could not be shut down gracefully within {Seconds(profile.ShutdownTimeout)} (shutdownTimeoutSeconds); " +
                $"it was killed. QEMU {DescribeExit(machine.ExitCode)}.\n{ex.Message}\n{Evidence()}",
                ex);
        }
    }

    private async Task StopAfterBootFailureAsync()
    {
        try
        {
            if (_machine is not null)
            {
                if (_machine.IsRunning)
                {
                    await _machine.KillAsync().ConfigureAwait(false);
                }

                WriteArtifacts();
                await _machine.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is QemuMachineException or IOException or InvalidOperationException or TimeoutException)
        {
            Progress($"cleanup after the failed boot: {FirstLine(ex.Message)}");
        }
        finally
        {
            _lease?.Release();
        }
    }

    private string DescribeBootFailure(string profileName, Exception ex)
    {
        var text = new StringBuilder();
        string source = _profile is null ? "" : $" from {_profile.Source}";
        text.Append(CultureInfo.InvariantCulture, $"The VM for {_className} did not boot (profile '{profileName}'{source}): {ex.GetType().Name}: {ex.Message}\n");
        text.Append(Evidence(includeQemuLog: ex is not QemuLaunchException));
        return text.ToString();
    }

    /// <summary>What QEMU said and what the console showed last, for failure messages.</summary>
    private string Evidence(bool includeQemuLog = true)
    {
        var text = new StringBuilder();
        if (_machine is not null)
        {
            if (includeQemuLog)
            {
                text.Append(CultureInfo.InvariantCulture, $"Command: {CommandLineText.Format(_machine.CommandLine)}\n");
                string qemuOutput = _machine.Log ?? _artifacts?.Read(VmArtifacts.QemuLog) ?? "";
                text.Append(CultureInfo.InvariantCulture, $"QEMU output:\n{CommandLineText.Tail(qemuOutput, ConsoleTailLines)}\n");
            }

            if (_profile?.Console is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"Console (last {ConsoleTailLines} lines):\n{CommandLineText.Tail(ConsoleText.Clean(ConsoleRaw()), ConsoleTailLines)}\n");
            }
        }

        if (_artifacts is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Artifacts: {_artifacts.Directory}");
        }

        return text.ToString();
    }

    private string ConsoleRaw()
    {
        string logged = _artifacts?.Read(VmArtifacts.ConsoleLog) ?? "";
        return logged.Length > 0 ? logged : "";
    }

    private void WriteArtifacts()
    {
        if (_artifacts is null || _machine is null)
        {
            return;
        }

        try
        {
            _artifacts.Write(VmArtifacts.QmpTranscript, _transcript?.ToString());
        }
        catch (IOException ex)
        {
            Progress($"could not write artifacts to {_artifacts.Directory}: {ex.Message}");
        }
    }

    private void AttachArtifacts()
    {
        if (_artifacts is null)
        {
            return;
        }

        WriteArtifacts();
        if (_profile?.Console is not null)
        {
            Attach("console-log", _artifacts.Read(VmArtifacts.ConsoleLog), "(the console printed nothing)");
        }

        Attach("qemu-log", _artifacts.Read(VmArtifacts.QemuLog), "(QEMU printed nothing)");
        Attach("qmp-transcript", _artifacts.Read(VmArtifacts.QmpTranscript), "(no QMP messages)");
        string summary = _artifacts.Read(VmArtifacts.Summary);
        if (summary.Length > 0)
        {
            Attach("vm-failure", summary, "");
        }

        static void Attach(string name, string text, string whenEmpty) =>
            TestContext.Current.AddAttachment(name, text.Length > 0 ? text : whenEmpty, replaceExistingValue: true);
    }

    private void Progress(string message)
    {
        string line = $"[{Seconds(_clock.Elapsed),7}] {message}";
        lock (_bootLog)
        {
            _bootLog.AppendLine(line);
        }

        TestContext.Current.SendDiagnosticMessage("QemuTestKit: " + _className + ": " + message);
    }

    private string BootLog()
    {
        lock (_bootLog)
        {
            return "QemuTestKit boot log:\n" + _bootLog;
        }
    }

    private QemuVmFailureException NotAvailable() =>
        new(_bootFailure ?? _death ?? $"The VM of {_className} is not running yet: it boots in the class fixture's initialization.");

    private static string Describe(QemuProfile profile)
    {
        var parts = new List<string> { profile.Arch };
        if (profile.Machine is not null)
        {
            parts.Add("machine " + profile.Machine);
        }

        if (profile.Memory is not null)
        {
            parts.Add(profile.Memory);
        }

        if (profile.Smp is int smp)
        {
            parts.Add(smp.ToString(CultureInfo.InvariantCulture) + " CPUs");
        }

        if (profile.Kernel is not null)
        {
            parts.Add("kernel " + Path.GetFileName(profile.Kernel));
        }

        parts.AddRange(profile.Drives.Select(d => "disk " + Path.GetFileName(d.Path)));
        return string.Join(", ", parts);
    }

    internal static string DescribeExit(int? exitCode) => exitCode switch
    {
        null => "is still running",
        0 => "exited with status 0",
        < 0 => $"was killed by signal {-exitCode} ({SignalName(-exitCode.Value)})",
        _ => $"exited with status {exitCode}",
    };

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    private static string FirstLine(string text) => text.Split('\n', 2)[0];
}
