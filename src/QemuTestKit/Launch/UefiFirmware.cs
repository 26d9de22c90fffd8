namespace QemuTestKit;

/// <summary>
/// The UEFI firmware files a launch plan decided on (<see cref="QemuLaunchPlan.Firmware"/>): the code, which QEMU maps
/// read-only, and the variable store template, which every VM gets its own writable copy of.
/// </summary>
/// <param name="Code">Absolute path of the firmware code (for example <c>/usr/share/OVMF/OVMF_CODE_4M.fd</c>).</param>
/// <param name="VariablesTemplate">Absolute path of the empty variable store the per-VM copy is made from.</param>
/// <param name="Package">The Debian package that ships the files (<c>ovmf</c>, <c>qemu-efi-aarch64</c>), for messages.</param>
public sealed record UefiFirmware(string Code, string VariablesTemplate, string Package)
{
    /// <summary>The variable store's file name in the machine's temp folder.</summary>
    internal const string VariablesFileName = "uefi-vars.fd";

    /// <summary>
    /// Where UEFI firmware for an architecture is looked for, best first: Debian's and Ubuntu's packages, then the
    /// <c>edk2-*</c> files upstream QEMU installs beside its binary (<c>&lt;prefix&gt;/share/qemu</c>: Homebrew on macOS,
    /// the Windows installer, a QEMU built from source).
    /// </summary>
    /// <param name="arch">The guest architecture.</param>
    /// <param name="binary">The QEMU binary, whose installation may carry its own firmware; null when unknown.</param>
    /// <returns>The candidates and the package to name when none exists; no candidates for an architecture without firmware.</returns>
    internal static (IReadOnlyList<UefiFirmware> Candidates, string Package) CandidatesFor(string arch, string? binary)
    {
        string? shared = binary is null || Path.GetDirectoryName(binary) is not { } bin
            ? null
            : Path.GetFullPath(Path.Combine(bin, "..", "share", "qemu"));
        UefiFirmware? Upstream(string code, string vars) =>
            shared is null ? null : new UefiFirmware(Path.Combine(shared, code), Path.Combine(shared, vars), "qemu (its edk2 firmware)");

        return arch switch
        {
            // The 4 MB build is Debian 12's and Ubuntu's default; the 2 MB one is what older releases ship.
            "x86_64" => (Candidates(
                new UefiFirmware("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "ovmf"),
                new UefiFirmware("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd", "ovmf"),
                Upstream("edk2-x86_64-code.fd", "edk2-i386-vars.fd")), "ovmf"),
            "aarch64" => (Candidates(
                new UefiFirmware("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd", "qemu-efi-aarch64"),
                Upstream("edk2-aarch64-code.fd", "edk2-arm-vars.fd")), "qemu-efi-aarch64"),
            _ => ([], string.Empty),
        };
    }

    /// <summary>The first candidate whose two files exist.</summary>
    /// <param name="profile">The profile that asks for UEFI, for the message.</param>
    /// <param name="binary">The QEMU binary (see <see cref="CandidatesFor"/>); null when unknown.</param>
    /// <param name="exists">Whether a file exists (tests pass a fake).</param>
    /// <exception cref="QemuProfileException">No firmware is known for the architecture, or none of its files exist; the message names the files looked for and the package to install.</exception>
    internal static UefiFirmware Find(QemuProfile profile, string? binary, Func<string, bool> exists)
    {
        (IReadOnlyList<UefiFirmware> candidates, string package) = CandidatesFor(profile.Arch, binary);
        if (candidates.Count == 0)
        {
            throw new QemuProfileException(
                $"Profile '{profile.Name}' has \"firmware\": \"uefi\", and QemuTestKit knows no UEFI firmware for {profile.Arch} (it has OVMF for x86_64 and AAVMF for aarch64); "
                + "remove \"firmware\" and pass the firmware yourself in \"args\" (-drive if=pflash,…).",
                profile.Name, "firmware", profile.Source);
        }

        return candidates.FirstOrDefault(c => exists(c.Code) && exists(c.VariablesTemplate)) ?? throw new QemuProfileException(
            $"Profile '{profile.Name}' has \"firmware\": \"uefi\", whose {profile.Arch} firmware is missing: none of "
            + string.Join("; ", candidates.Select(c => $"{c.Code} with {c.VariablesTemplate}"))
            + $" exists. Install Debian's package '{package}' (sudo apt-get install {package}, or run build/install-prerequisites.sh).",
            profile.Name, "firmware", profile.Source);
    }

    /// <summary>QEMU's arguments for the firmware code (pflash unit 0, read-only); the variable store is per VM.</summary>
    internal static IReadOnlyList<string> CodeArguments(UefiFirmware? firmware) => firmware is null
        ? []
        : ["-drive", $"if=pflash,format=raw,unit=0,readonly=on,file={QemuOptionValue.Escape(firmware.Code)}"];

    /// <summary>
    /// Gives a machine of the plan its own writable copy of the variable store in its temp folder (0600; the machine
    /// removes the folder when it stops), as pflash unit 1: the firmware writes boot entries there, and VMs that shared
    /// one store would see each other's writes and corrupt it.
    /// </summary>
    /// <exception cref="IOException">The template could not be copied.</exception>
    internal static void AttachVariables(QemuMachine machine, QemuLaunchPlan plan)
    {
        if (plan.Firmware is not { } firmware)
        {
            return;
        }

        string copy = Path.Combine(machine.TempDir, VariablesFileName);
        File.Copy(firmware.VariablesTemplate, copy, overwrite: true);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        machine.AddArgs("-drive", $"if=pflash,format=raw,unit=1,file={QemuOptionValue.Escape(copy)}");
    }

    private static UefiFirmware[] Candidates(params UefiFirmware?[] candidates) => [.. candidates.OfType<UefiFirmware>()];
}
