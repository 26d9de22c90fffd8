using System.Text.RegularExpressions;
using QemuTestKit.Sdk;

namespace QemuTestKit;

/// <summary>
/// The one place a launch plan becomes a <see cref="QemuMachine"/> (created, not launched): its binary, its launcher,
/// its arguments, its machine type and console. <see cref="QemuBoot"/> and warm start use it.
/// </summary>
internal static class QemuProfileMachine
{
    /// <summary>Resolves the profile's plan on this host and creates its machine.</summary>
    /// <exception cref="FileNotFoundException">No QEMU binary for the profile's architecture was found.</exception>
    /// <exception cref="QemuProfileException">The profile's runner needs a launcher factory that was not given.</exception>
    public static QemuMachine Create(QemuProfile profile, QemuMachineOptions? options = null, IQemuLauncherFactory? containerLauncher = null) =>
        Create(QemuLaunchPlan.Resolve(profile), options, containerLauncher);

    /// <summary>Creates the machine of a plan; the plan's arguments come before <paramref name="options"/>' own.</summary>
    /// <exception cref="QemuProfileException">The plan's runner needs a launcher factory that was not given.</exception>
    public static QemuMachine Create(QemuLaunchPlan plan, QemuMachineOptions? options = null, IQemuLauncherFactory? containerLauncher = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        options ??= new QemuMachineOptions();
        return New(plan, options with { Args = [.. plan.Arguments, .. options.Args] }, containerLauncher);
    }

    /// <summary>
    /// Creates the machine of the plan that <paramref name="layers"/> derives once the machine exists (warm start puts
    /// copy-on-write drive layers into the machine's own temp folder, which it removes at shutdown).
    /// </summary>
    /// <exception cref="QemuProfileException">The plan's runner needs a launcher factory that was not given.</exception>
    public static async Task<QemuMachine> CreateAsync(
        QemuLaunchPlan plan,
        QemuMachineOptions options,
        IQemuLauncherFactory? containerLauncher,
        Func<QemuMachine, CancellationToken, Task<QemuLaunchPlan>> layers,
        CancellationToken cancellationToken)
    {
        QemuMachine machine = New(plan, options with { Args = [] }, containerLauncher);
        try
        {
            QemuLaunchPlan layered = await layers(machine, cancellationToken).ConfigureAwait(false);
            machine.AddArgs([.. layered.Arguments, .. options.Args]);
            return machine;
        }
        catch
        {
            // Never launched, so the machine will not remove its temp folder (which the layers were written into) itself.
            try
            {
                Directory.Delete(machine.TempDir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the caller's exception is the one to see.
            }

            throw;
        }
    }

    /// <summary>Points the launched machine's console at the profile's prompt and failure patterns.</summary>
    public static void ConfigureConsole(QemuProfile profile, QemuConsole console)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(console);
        if (profile.Prompt is not null)
        {
            // The prompt is literal text ("qtk# "); it is matched at the end of the output like the console's default.
            console.Prompt = new Regex(Regex.Escape(profile.Prompt) + @"(\x1B\[[0-9;?]*[A-Za-z])*$", RegexOptions.CultureInvariant);
        }

        console.FailurePatterns = [.. FailurePatterns(profile)];
    }

    public static IEnumerable<Regex> FailurePatterns(QemuProfile profile) =>
        profile.FailurePatterns.Select(p => new Regex(p, RegexOptions.CultureInvariant));

    private static QemuMachine New(QemuLaunchPlan plan, QemuMachineOptions options, IQemuLauncherFactory? containerLauncher)
    {
        if (plan.Runner == QemuRunner.Container && options.Launcher is null)
        {
            IQemuLauncherFactory factory = containerLauncher ?? throw new QemuProfileException(
                $"Profile '{plan.Profile.Name}' has runner 'container', which needs the QemuTestKit.Containers package: `dotnet add package QemuTestKit.Containers` "
                + "in the test project (it marks the assembly with [assembly: QemuTestKit.Containers.QemuContainers]), or pass "
                + $"QemuBootOptions.ContainerLauncher = QemuTestKit.Containers.ContainerLauncherFactory.Instance (in {plan.Profile.Source}).",
                plan.Profile.Name, "runner", plan.Profile.Source);
            options = options with { Launcher = factory.Create(plan, options.Logger) };
        }

        var machine = new QemuMachine(plan.Binary, options with { HostFiles = [.. plan.HostFiles, .. options.HostFiles] });
        UefiFirmware.AttachVariables(machine, plan);
        if (plan.MachineType is not null)
        {
            machine.SetMachine(plan.MachineType);
        }

        if (plan.Console is QemuProfileConsole console)
        {
            machine.SetConsole(console.Device, console.Index);
        }

        if (plan.GuestAgentSerialDevice is string agentSerial)
        {
            machine.SetGuestAgent(agentSerial);
        }

        return machine;
    }
}
