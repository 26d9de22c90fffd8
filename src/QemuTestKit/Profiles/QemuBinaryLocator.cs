namespace QemuTestKit;

/// <summary>
/// Finds the QEMU system emulator for a profile: the binary the build found (manifest), else <c>QEMU_BINARY</c>, else
/// <c>qemu-system-&lt;arch&gt;</c> on <c>PATH</c>.
/// </summary>
internal static class QemuBinaryLocator
{
    /// <exception cref="FileNotFoundException">No binary was found; the message says how to provide one.</exception>
    public static string Resolve(QemuProfile profile)
    {
        if (!string.IsNullOrEmpty(profile.QemuBinary))
        {
            return File.Exists(profile.QemuBinary)
                ? profile.QemuBinary
                : throw new FileNotFoundException(
                    $"The QEMU binary the build recorded for profile '{profile.Name}' ({profile.QemuBinary}) does not exist; rebuild the test project or set <QemuBinary> in it.",
                    profile.QemuBinary);
        }

        string? fromEnv = Environment.GetEnvironmentVariable("QEMU_BINARY");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return File.Exists(fromEnv)
                ? fromEnv
                : throw new FileNotFoundException($"QEMU_BINARY is set to '{fromEnv}', which does not exist.", fromEnv);
        }

        string program = "qemu-system-" + profile.Arch;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"{program} was not found on PATH (profile '{profile.Name}'). Install it (Debian/Ubuntu: apt-get install {HostArchitecture.DebianPackage(profile.Arch)}; " +
            "or run 'bash build/install-prerequisites.sh'), set <QemuBinary> in the test project, or set QEMU_BINARY.",
            program);
    }

}
