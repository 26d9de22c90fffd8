using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// Finds the QEMU system emulator for a profile: the binary the build found (manifest), else <c>QEMU_BINARY</c>, else
/// <c>qemu-system-&lt;arch&gt;</c> on <c>PATH</c>; and checks it is QEMU (<see cref="QemuVersionProbe"/>, remembered
/// per file), so a wrong binary is named as such before a boot waits for a VM that cannot come.
/// </summary>
internal static class QemuBinaryLocator
{
    /// <summary>Returns the path of a working QEMU for <paramref name="profile"/>.</summary>
    /// <exception cref="FileNotFoundException">No binary was found, or the configured one does not exist; the message says how to provide one.</exception>
    /// <exception cref="QemuMachineException">The binary is a folder, not executable, hangs on <c>--version</c> (killed after
    /// <see cref="QemuVersionProbe.DefaultTimeout"/>) or is not QEMU; the message says which, what it printed, and what to set.</exception>
    public static string Resolve(QemuProfile profile) => Resolve(profile, Environment.GetEnvironmentVariable);

    /// <summary>Resolves with <paramref name="environment"/> for <c>QEMU_BINARY</c> (tests must not change the process's variables).</summary>
    internal static string Resolve(QemuProfile profile, Func<string, string?> environment)
    {
        string hint = HostArchitecture.InstallHint(profile.Arch);
        string program = "qemu-system-" + profile.Arch;
        if (!string.IsNullOrEmpty(profile.QemuBinary))
        {
            return Check(
                profile.QemuBinary,
                $"The QEMU binary the build recorded for profile '{profile.Name}' ({profile.QemuBinary})",
                $"Rebuild the test project, or set <QemuBinary> in it to a working {program}.");
        }

        string? fromEnv = environment("QEMU_BINARY");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return Check(fromEnv, $"QEMU_BINARY ('{fromEnv}')", $"Set QEMU_BINARY to a working {program}, or unset it to use the one on PATH.");
        }

        string found = HostToolSearch.FindOnPath(program) ?? throw new FileNotFoundException(
            $"{program} was not found on PATH (profile '{profile.Name}'). To fix: {hint}, " +
            "set <QemuBinary> in the test project, or set QEMU_BINARY.",
            program);
        return Check(found, $"{program} on PATH ({found})", $"Set QEMU_BINARY or <QemuBinary> to a working {program}, or {hint}.");
    }

    private static string Check(string path, string subject, string fix)
    {
        try
        {
            return QemuVersionProbe.Probe(path).Path;
        }
        catch (HostToolException ex) when (ex.Problem == HostToolProblem.Missing)
        {
            throw new FileNotFoundException($"{subject} cannot be used: {ex.Message}. {fix}", path, ex);
        }
        catch (HostToolException ex)
        {
            throw new QemuMachineException($"{subject} cannot be used: {ex.Message}. {fix}", ex);
        }
    }
}
