using System.Globalization;

namespace QemuTestKit;

/// <summary>
/// Boots a profile to a ready VM, with any test framework or none (NUnit, MSTest, a console program): resolves the
/// profile's <see cref="QemuLaunchPlan"/> once, creates and launches the machine, waits for the profile's ready pattern
/// and first prompt, and sets the console's prompt and failure patterns. Warm start, when the profile allows it, wraps
/// this boot: it restores a saved state instead, or boots this way and saves one.
/// </summary>
/// <example>
/// <code>
/// QemuProfile profile = QemuProfiles.Load(AppContext.BaseDirectory).Get("tiny");
/// QemuBootResult vm = await QemuBoot.StartAsync(profile, new QemuBootOptions { ArtifactsDirectory = "artifacts" });
/// await using QemuMachine machine = vm.Machine;
/// string uname = await machine.Console.RunAsync("uname -s");
/// </code>
/// </example>
public static class QemuBoot
{
    /// <summary>Resolves the profile's plan on this host and boots it: see <see cref="StartAsync(QemuLaunchPlan, QemuBootOptions?, CancellationToken)"/>.</summary>
    /// <exception cref="FileNotFoundException">A local profile's QEMU binary was not found; the message says how to install or name one.</exception>
    /// <exception cref="QemuProfileException">The profile's runner needs a launcher that was not given (<see cref="QemuBootOptions.ContainerLauncher"/>).</exception>
    /// <exception cref="QemuLaunchException">QEMU could not start, or exited before QMP was ready.</exception>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed, during the boot.</exception>
    /// <exception cref="TimeoutException">The boot did not finish within the profile's boot timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<QemuBootResult> StartAsync(QemuProfile profile, QemuBootOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new QemuBootOptions();
        return await StartAsync(QemuLaunchPlan.Resolve(profile, options.Host), options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Boots a resolved plan to ready within the profile's boot timeout: restored from the profile's saved state when
    /// warm start applies and there is one, else booted cold (and saved for the next caller when warm start applies).
    /// </summary>
    /// <param name="plan">What to run, as <see cref="QemuLaunchPlan.Resolve(QemuProfile)"/> decided it.</param>
    /// <param name="options">Artifacts folder, logger, progress, warm start, container launcher; optional.</param>
    /// <param name="cancellationToken">Cancels the boot (the machine is killed and cleaned up).</param>
    /// <returns>The running machine, which the caller owns, the plan and how it started.</returns>
    /// <exception cref="QemuProfileException">The plan's runner needs a launcher that was not given (<see cref="QemuBootOptions.ContainerLauncher"/>).</exception>
    /// <exception cref="QemuLaunchException">QEMU could not start, or exited before QMP was ready.</exception>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed, during the boot.</exception>
    /// <exception cref="TimeoutException">The boot did not finish within the profile's boot timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<QemuBootResult> StartAsync(QemuLaunchPlan plan, QemuBootOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        TimeSpan timeout = plan.Profile.BootTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // Halted for a debugger, the boot waits for a person: each wait after the debugger continues has the boot timeout.
        if (plan.GdbStub != QemuGdbStub.Halt)
        {
            deadline.CancelAfter(timeout);
        }

        try
        {
            return await RunAsync(plan, options ?? new QemuBootOptions(), deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"The boot did not finish within the profile's boot timeout ({timeout.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s; bootTimeoutSeconds).");
        }
    }

    /// <summary>The boot without an overall deadline (each wait still has the profile's boot timeout).</summary>
    internal static async Task<QemuBootResult> RunAsync(QemuLaunchPlan plan, QemuBootOptions options, CancellationToken cancellationToken)
    {
        var boot = new ProfileBoot(plan, options);
        WarmStartResult start = await WarmStartCache.WrapAsync(boot, options, cancellationToken).ConfigureAwait(false);
        return new QemuBootResult(plan, start);
    }
}
