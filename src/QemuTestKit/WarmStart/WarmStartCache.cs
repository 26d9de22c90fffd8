using System.Collections.Concurrent;

namespace QemuTestKit;

/// <summary>
/// Warm start: boot a profile's guest once, save its state, and start every later machine of that profile from the
/// saved state instead of booting it. The first machine boots cold to ready (and to its shell prompt), is paused, its
/// state migrated to a file in the cache, and continues; later machines start QEMU with the same devices plus
/// <c>-incoming defer</c>, load the state, continue, and count as ready once the guest's shell has run a framed no-op on
/// the console (or take the one prepared that way for them and paused: <see cref="WarmStartOptions.PrestartNext"/>). Each has its own sockets, temp folder and copy-on-write disk layers, so restored machines are independent.
/// Where QEMU and the profile allow it, the guest's RAM is kept in a file beside the state that each restored machine
/// maps copy-on-write, so a restore reads only the device state and restored machines share the pages they have not
/// written; elsewhere the RAM goes through the migration stream (<see cref="WarmStartOptions.MapMemory"/>).
/// </summary>
/// <remarks>
/// States are keyed by a SHA-256 over the QEMU binary and version, the device-shaping arguments and the contents of the
/// kernel, initrd and images, so any change builds a new one. Parallel callers of one profile (classes, processes)
/// take a lock: one builds, the others wait and then restore. A restore that fails deletes the state, boots cold and
/// says why in <see cref="WarmStartResult.Warning"/>. Set <c>QEMUTESTKIT_WARMSTART=0</c> to turn warm start off
/// everywhere, or <c>"warmStart": false</c> on a profile.
/// </remarks>
public static class WarmStartCache
{
    /// <summary>The environment variable that overrides the cache folder.</summary>
    public const string DirectoryVariable = "QEMUTESTKIT_WARMSTART_DIR";

    /// <summary>The environment variable that turns warm start off when set to <c>0</c>, <c>false</c>, <c>off</c> or <c>no</c>.</summary>
    public const string SwitchVariable = "QEMUTESTKIT_WARMSTART";

    /// <summary>States whose restore failed in this process, with the reason: not tried again until the next run.</summary>
    private static readonly ConcurrentDictionary<string, string> s_broken = new(StringComparer.Ordinal);

    /// <summary>
    /// The cache folder used when <see cref="WarmStartOptions.CacheDirectory"/> is not set: <c>QEMUTESTKIT_WARMSTART_DIR</c>,
    /// else <c>$XDG_CACHE_HOME/qemutestkit/warmstart</c>, else <c>~/.cache/qemutestkit/warmstart</c>.
    /// </summary>
    public static string DefaultDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured)
            {
                return Path.GetFullPath(configured);
            }

            string cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cacheHome, "qemutestkit", "warmstart");
        }
    }

    /// <summary>
    /// Why warm start does not apply to <paramref name="profile"/>, or null when it does. <paramref name="enabled"/>
    /// (see <see cref="WarmStartOptions.Enabled"/>) overrides the profile and the <c>QEMUTESTKIT_WARMSTART</c> switch.
    /// </summary>
    public static string? DisabledReason(QemuProfile profile, bool? enabled = null) =>
        DisabledReason(profile, enabled, Environment.GetEnvironmentVariable(SwitchVariable));

    internal static string? DisabledReason(QemuProfile profile, bool? enabled, string? switchValue)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (enabled == false)
        {
            return "warm start is turned off by the caller";
        }

        if (enabled is null)
        {
            string? flag = switchValue?.Trim();
            if (flag is "0" || string.Equals(flag, "false", StringComparison.OrdinalIgnoreCase)
                || string.Equals(flag, "off", StringComparison.OrdinalIgnoreCase) || string.Equals(flag, "no", StringComparison.OrdinalIgnoreCase))
            {
                return $"warm start is turned off ({SwitchVariable}={flag})";
            }

            if (!profile.WarmStart)
            {
                return $"warm start is off for profile '{profile.Name}' (warmStart: false)";
            }
        }

        if (profile.Machine == "none" || (profile.Kernel is null && profile.Drives.Count == 0 && profile.Args.Count == 0))
        {
            return $"profile '{profile.Name}' has no guest to save";
        }

        if (profile.Console is null || profile.Prompt is null)
        {
            return $"profile '{profile.Name}' has no console prompt, so a restored guest cannot be seen to answer";
        }

        return profile.Runner != QemuRunner.Local ? $"warm start runs QEMU locally only (profile '{profile.Name}' has runner '{ProfileEnum.Name(profile.Runner)}')" : null;
    }

    /// <summary>
    /// Brings a machine of <paramref name="profile"/> to ready: restored from the profile's saved state when there is
    /// one, else booted cold (and, when warm start applies, saved for the next caller). With warm start off this is a
    /// cold boot to the ready pattern and nothing else. The same boot as <see cref="QemuBoot.StartAsync(QemuProfile, QemuBootOptions?, CancellationToken)"/>,
    /// without its overall deadline.
    /// </summary>
    /// <param name="profile">What to run.</param>
    /// <param name="machineOptions">The machine's settings; its arguments come after the profile's.</param>
    /// <param name="options">Cache folder, progress, logging; optional.</param>
    /// <param name="cancellationToken">Cancels the launch (the machine is killed and cleaned up); pass the boot deadline here.</param>
    /// <returns>The running machine, which the caller owns, and how it was started.</returns>
    /// <exception cref="FileNotFoundException">The profile's QEMU binary was not found.</exception>
    /// <exception cref="QemuLaunchException">QEMU could not start.</exception>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed, during a cold boot.</exception>
    /// <exception cref="TimeoutException">The cold boot did not reach the ready pattern within the profile's boot timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<WarmStartResult> LaunchAsync(
        QemuProfile profile,
        QemuMachineOptions? machineOptions = null,
        WarmStartOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var boot = new QemuBootOptions
        {
            Machine = machineOptions,
            Logger = options?.Logger,
            Progress = options?.Progress,
            Launched = options?.Launched,
            WarmStart = options,
        };
        return (await QemuBoot.RunAsync(QemuLaunchPlan.Resolve(profile, boot.Host), boot, cancellationToken).ConfigureAwait(false)).Start;
    }

    /// <summary>Warm start around one boot: restore, or boot cold through <paramref name="boot"/> (and save).</summary>
    internal static Task<WarmStartResult> WrapAsync(ProfileBoot boot, QemuBootOptions options, CancellationToken cancellationToken) =>
        new WarmStartLauncher(boot, options.WarmStart ?? new WarmStartOptions(), options.Logger, options.Progress, s_broken).RunAsync(cancellationToken);
}
