using System.Globalization;

namespace QemuTestKit;

/// <summary>
/// Turns a profile into QEMU arguments. The machine type and the console are not here: QemuMachine adds them itself
/// (<c>SetMachine</c>, <c>SetConsole</c>) because it owns the console socket.
/// </summary>
internal static class QemuProfileArguments
{
    /// <summary>
    /// The accelerator QEMU gets for this profile: <c>kvm</c> or <c>tcg</c>. <c>auto</c> takes KVM when it is usable;
    /// <c>QEMUTESTKIT_ACCEL</c> (<c>kvm</c> or <c>tcg</c>) overrides <c>auto</c> for a whole run.
    /// </summary>
    public static string Accelerator(QemuProfile profile, Func<string, bool>? kvmUsable = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.Accel is "kvm" or "tcg")
        {
            return profile.Accel;
        }

        string? forced = kvmUsable is null ? Environment.GetEnvironmentVariable(KvmProbe.AccelEnvironmentVariable) : null;
        if (forced is "kvm" or "tcg")
        {
            return forced;
        }

        kvmUsable ??= arch => KvmProbe.IsUsable(arch, () => QemuBinaryLocator.Resolve(profile));
        return kvmUsable(profile.Arch) ? "kvm" : "tcg";
    }

    public static IReadOnlyList<string> Build(QemuProfile profile, Func<string, bool>? kvmUsable = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var args = new List<string>();

        // Without -nodefaults QEMU adds a NIC, a VGA card, a floppy and a CD-ROM nobody asked for: slower to boot, and
        // a default serial port that would compete with the kit's console.
        if (profile.Machine != "none")
        {
            args.Add("-nodefaults");
        }

        args.AddRange(["-accel", Accelerator(profile, kvmUsable)]);
        if (profile.Memory is not null)
        {
            args.AddRange(["-m", profile.Memory]);
        }

        if (profile.Smp is int smp)
        {
            args.AddRange(["-smp", smp.ToString(CultureInfo.InvariantCulture)]);
        }

        if (profile.Kernel is not null)
        {
            args.AddRange(["-kernel", profile.Kernel]);
            if (profile.Initrd is not null)
            {
                args.AddRange(["-initrd", profile.Initrd]);
            }

            if (profile.Append is not null)
            {
                args.AddRange(["-append", profile.Append]);
            }

            // A kernel that panics or powers off should end QEMU, not loop through reboots until the boot timeout.
            args.Add("-no-reboot");
        }

        foreach (QemuDrive drive in profile.Drives)
        {
            args.AddRange(["-drive", DriveOption(drive)]);
        }

        args.AddRange(profile.Args);
        return args;
    }

    public static string DriveOption(QemuDrive drive)
    {
        var parts = new List<string> { "file=" + QemuOptionValue.Escape(drive.Path) };
        if (drive.Format is not null)
        {
            parts.Add("format=" + QemuOptionValue.Escape(drive.Format));
        }

        if (drive.Interface is not null)
        {
            parts.Add("if=" + QemuOptionValue.Escape(drive.Interface));
        }

        if (drive.ReadOnly)
        {
            parts.Add("readonly=on");
        }

        if (drive.Snapshot)
        {
            parts.Add("snapshot=on");
        }

        return string.Join(',', parts);
    }
}
