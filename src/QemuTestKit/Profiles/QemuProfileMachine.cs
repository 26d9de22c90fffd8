using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// The one place a profile becomes a <see cref="QemuMachine"/>: the xunit fixture uses it, and so will warm start.
/// </summary>
internal static class QemuProfileMachine
{
    /// <summary>Creates (does not launch) the machine a profile describes.</summary>
    /// <exception cref="FileNotFoundException">No QEMU binary for the profile's architecture was found.</exception>
    /// <exception cref="QemuProfileException">The profile asks for a runner this method does not handle.</exception>
    public static QemuMachine Create(QemuProfile profile, QemuMachineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        // Runner "container" (QemuTestKit.Containers): QEMU is in the image, and KVM is not passed into containers.
        bool container = profile.Runner == "container";
        if (!container && profile.Runner != "local")
        {
            throw new QemuProfileException(
                $"Profile '{profile.Name}', field 'runner' is '{profile.Runner}'; only 'local' and 'container' are supported (in {profile.Source}).",
                profile.Name, "runner", profile.Source);
        }

        string binary = container ? ContainerLauncherLocator.Binary(profile) : QemuBinaryLocator.Resolve(profile);
        options ??= new QemuMachineOptions();
        if (container && options.Launcher is null)
        {
            options = options with { Launcher = ContainerLauncherLocator.Create(profile, options.Logger) };
        }

        IReadOnlyList<string> profileArgs = container ? QemuProfileArguments.Build(profile, _ => false) : QemuProfileArguments.Build(profile);
        var machine = new QemuMachine(binary, options with { Args = [.. profileArgs, .. options.Args] });
        if (profile.Machine is not null)
        {
            machine.SetMachine(profile.Machine);
        }

        if (profile.Console is QemuProfileConsole console)
        {
            machine.SetConsole(console.Device, console.Index);
        }

        return machine;
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
}
