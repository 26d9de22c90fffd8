using System.Diagnostics;
using System.Reflection;
using QemuTestKit.Qmp;
using QemuTestKit.Sdk;
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
/// tail; a VM that dies during a test fails that test, one that dies between tests fails the next test saying so, and
/// later tests fail at once with the reason; a VM that cannot be shut down gracefully fails the run (a class cleanup
/// failure). Every such message carries QEMU's command line. Failed tests get the console log, QEMU's output and the QMP
/// transcript attached, named after the class and the test; the class's artifacts stay in
/// <see cref="ArtifactsDirectory"/>, a folder of its own for each run. When a test fails, more is optional:
/// <see cref="QemuMachineAttribute.Restart"/> replaces a crashed VM before the next test, <c>QEMUTESTKIT_KEEP</c> keeps a
/// failed class's VM running after the run (<see cref="KeptVms"/>), the profile's <c>"gdb"</c> serves QEMU's gdb stub,
/// and its <c>"onFailure"</c> collects a memory dump and HMP outputs.
/// </remarks>
public sealed partial class QemuVm : IAsyncLifetime, INotifyTestLifecycleAsync
{
    private QemuMachine? _machine;
    private QemuProfile? _profile;
    private VmArtifacts? _artifacts;
    private VmLimiter.Lease? _lease;
    private QmpTranscript? _transcript;
    private VmBootLog _log = new("(unknown class)");
    private VmFailureReport? _report;
    private string _className = "(unknown class)";
    private string? _bootFailure;
    private Exception? _bootException;
    private string? _death;
    private string? _lastFinishedTest;
    private Assembly? _testAssembly;
    private QemuMachineAttribute? _attribute;

    /// <summary>The running machine (the port of QEMU's Python <c>QEMUMachine</c>).</summary>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
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

    /// <summary>
    /// The class's artifacts folder (console log, QEMU log, QMP transcript):
    /// <c>&lt;test results&gt;/qemutestkit/&lt;run id&gt;/&lt;class&gt;/</c>, where the run id is the test process's
    /// start time (UTC) and PID, so runs never overwrite each other.
    /// </summary>
    public string ArtifactsDirectory => _artifacts?.Directory ?? "";

    /// <summary>How long the boot took, from launching QEMU to the ready pattern.</summary>
    public TimeSpan BootTime { get; private set; }

    /// <summary>How the VM started: booted cold, booted and saved for later classes, or restored from the saved state (warm start).</summary>
    public WarmStartMode StartMode { get; private set; }

    /// <summary>The accelerator QEMU runs with: <c>kvm</c> or <c>tcg</c>.</summary>
    public string Accelerator { get; private set; } = "";

    async ValueTask IAsyncLifetime.InitializeAsync()
    {
        ITestContext context = TestContext.Current;
        Type? testClass = (context.TestClass as IXunitTestClass)?.Class;
        _className = testClass?.FullName ?? _className;
        _log = new VmBootLog(_className);
        QemuMachineAttribute? attribute = testClass?.GetCustomAttribute<QemuMachineAttribute>(inherit: true);
        if (testClass is null || attribute is null)
        {
            _bootFailure = $"{nameof(QemuVm)} is created by [QemuMachine(\"profile\")] on the test class; {_className} has no such attribute.";
            return;
        }

        _testAssembly = testClass.Assembly;
        _attribute = attribute;
        await StartVmAsync(ArtifactsLocation.ForClass(_className), context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>Boots the class's VM with its artifacts in <paramref name="artifactsDirectory"/>; a failure is stored for the tests.</summary>
    private async Task StartVmAsync(string artifactsDirectory, CancellationToken cancellationToken)
    {
        string profileName = _attribute!.Profile;
        _artifacts = new VmArtifacts(artifactsDirectory);
        _report = new VmFailureReport(_className, _artifacts);
        try
        {
            _artifacts.Reset();
            await BootAsync(_testAssembly!, profileName, cancellationToken).ConfigureAwait(false);
            ShareWithReport();
        }
        catch (Exception ex)
        {
            // Stored, not thrown: every test of the class then fails with the full story and gets the artifacts
            // attached, which a throw from here (reported once, before any test runs) cannot do.
            ShareWithReport();
            _bootException = ex;
            await StopAfterBootFailureAsync().ConfigureAwait(false);
            _bootFailure = _report.BootFailed(profileName, ex);
            Progress($"boot failed after {Seconds(_log.Elapsed)}: {VmBootLog.FirstLine(ex.Message)}");
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
        await PrepareKeepAsync(plan, cancellationToken).ConfigureAwait(false);
        Accelerator = plan.Accelerator.ToString().ToLowerInvariant();
        Progress($"booting '{profile.Name}' for {_className} ({VmBootLog.Describe(profile)}, {Accelerator.ToUpperInvariant()}; VM {VmLimiter.Running} of at most {VmLimiter.Limit})");

        var started = Stopwatch.StartNew();
        QemuBootResult start = await QemuBoot.StartAsync(
            plan,
            new QemuBootOptions
            {
                // QEMU writes its own output to <LogDir>/<Name>.log as it runs: straight into the artifacts folder.
                Machine = WithKeep(new QemuMachineOptions
                {
                    Name = VmArtifacts.MachineName,
                    LogDir = _artifacts!.Directory,
                    ConsoleLogPath = profile.Console is null ? null : _artifacts.ConsoleLogPath,

                    // Calls made without a token follow the test that makes them (timeouts, cancel): vm.Qmp, vm.Console.
                    AmbientCancellation = static () => TestContext.Current.CancellationToken,
                }),
                Progress = Progress,

                // The next class of this profile restores the same state: it is prepared now and waits paused (killed at the run's end).
                WarmStart = new WarmStartOptions { PrestartNext = true },
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
        AnnounceKeep();
    }

    async ValueTask INotifyTestLifecycleAsync.OnTestStartingAsync(IXunitTest test)
    {
        await ReplaceIfDueAsync().ConfigureAwait(false);
        if (_bootFailure is not null)
        {
            Attach(test);
            throw new QemuVmFailureException(_bootFailure, _bootException);
        }

        if (_death is not null)
        {
            Attach(test);
            throw new QemuVmFailureException($"This class's VM is gone: {_death}");
        }

        if (_machine is { IsRunning: false } && _report is not null)
        {
            // Checked here as well as when a test finishes: a VM that died in between is not the next test's doing.
            _death = _report.DiedBetween(_lastFinishedTest, test.TestDisplayName);
            _death += RestartNote(_death);
            Progress(_death);
            _death += "\n" + _report.Evidence();
            WriteSummary(_death);
            Attach(test);
            throw new QemuVmFailureException(_death);
        }

        _log.ShowOnce();
    }

    async ValueTask INotifyTestLifecycleAsync.OnTestFinishedAsync(IXunitTest test)
    {
        if (FinishTest(test))
        {
            await AttachScreenshotAsync(test).ConfigureAwait(false);
            await CollectEvidenceAsync(test).ConfigureAwait(false);
            await AfterFailedTestAsync(test).ConfigureAwait(false);
        }
    }

    /// <summary>Fails the test if the VM died during it; says whether it failed with the VM still running.</summary>
    private bool FinishTest(IXunitTest test)
    {
        _lastFinishedTest = test.TestDisplayName;
        if (_machine is null || _report is null || _bootFailure is not null || _death is not null)
        {
            return false;
        }

        if (!_machine.IsRunning)
        {
            int? exitCode = _machine.ExitCode;
            _death = _report.DiedDuring(test.TestDisplayName);
            _death += exitCode == 0 ? "" : RestartNote(_death);
            Progress(_death);
            _death += "\n" + _report.Evidence();
            WriteSummary(_death);
            Attach(test);

            // A guest that powers itself off cleanly did what the test asked; anything else is a crash.
            if (exitCode != 0)
            {
                throw new QemuVmFailureException(_death);
            }

            return false;
        }

        if (TestContext.Current.TestState?.Result == TestResult.Failed)
        {
            Attach(test);
            NoteFailureForKeep();
            return true;
        }

        return false;
    }

    async ValueTask IAsyncDisposable.DisposeAsync()
    {
        QemuVmFailureException? failure = null;
        try
        {
            if (_machine is not null && _bootFailure is null && !await TryKeepAsync().ConfigureAwait(false))
            {
                // The next class's boot may be waiting for this slot: free it the moment QEMU exits, not after the
                // machine's cleanup and the artifacts below.
                _lease?.ReleaseWhen(_machine.WhenExitedAsync());
                failure = await ShutdownAsync(_machine, _profile!).ConfigureAwait(false);
            }
        }
        finally
        {
            DropKeptDirectory();
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
                    failure ??= new QemuVmFailureException($"The VM of {_className} could not be cleaned up: {ex.Message}\n{_report?.Evidence()}", ex);
                }
            }

            _lease?.Release();
        }

        if (failure is not null)
        {
            WriteSummary(failure.Message);
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
                Progress($"cleanup after QEMU exited: {VmBootLog.FirstLine(ex.Message)}");
            }

            if (_death is not null)
            {
                return null; // already reported by the test it happened in
            }

            int? exitCode = machine.ExitCode;
            Progress($"QEMU {VmFailureReport.DescribeExit(exitCode)} after the last test");
            return exitCode == 0 ? null : new QemuVmFailureException(_report!.DiedAfterLastTest());
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
            Progress($"graceful shutdown failed after {Seconds(stopping.Elapsed)}: {VmBootLog.FirstLine(ex.Message)}");
            return new QemuVmFailureException(_report!.ShutdownFailed(profile.ShutdownTimeout, ex), ex);
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
            Progress($"cleanup after the failed boot: {VmBootLog.FirstLine(ex.Message)}");
        }
        finally
        {
            _lease?.Release();
        }
    }

    /// <summary>The failure report reads what the boot produced (it may have failed half-way).</summary>
    private void ShareWithReport()
    {
        if (_report is not null)
        {
            _report.Machine = _machine;
            _report.Profile = _profile;
            _report.Transcript = _transcript;
        }
    }

    private void WriteArtifacts()
    {
        try
        {
            _report?.WriteArtifacts();
        }
        catch (IOException ex)
        {
            Progress($"could not write artifacts to {ArtifactsDirectory}: {ex.Message}");
        }
    }

    private void WriteSummary(string text)
    {
        try
        {
            _artifacts?.Write(VmArtifacts.Summary, text);
        }
        catch (IOException ex)
        {
            Progress($"could not write artifacts to {ArtifactsDirectory}: {ex.Message}");
        }
    }

    private void Attach(IXunitTest test) => _report?.Attach(test, Progress);

    private void Progress(string message) => _log.Progress(message);

    private QemuVmFailureException NotAvailable() =>
        new(_bootFailure ?? (_death is null ? null : "This class's VM is gone: " + _death)
            ?? $"The VM of {_className} is not running yet: it boots in the class fixture's initialization.");

    private static string Seconds(TimeSpan time) => VmBootLog.Seconds(time);
}
