using System.Globalization;

namespace QemuTestKit;

/// <summary>
/// Writes a launch plan as QEMU arguments: the one argv writer for profiles (nothing reads argv back). The machine type and the console are not here: QemuMachine adds them itself
/// (<c>SetMachine</c>, <c>SetConsole</c>) because it owns the console socket.
/// </summary>
internal static class QemuProfileArguments
{
    /// <summary>QEMU's arguments for a plan: its decided accelerator and drives, the rest from its profile.</summary>
    public static IReadOnlyList<string> Build(QemuLaunchPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        QemuProfile profile = plan.Profile;
        var args = new List<string>();

        // Without -nodefaults QEMU adds a NIC, a VGA card, a floppy and a CD-ROM nobody asked for: slower to boot, and
        // a default serial port that would compete with the kit's console.
        if (profile.Machine != "none")
        {
            args.Add("-nodefaults");
        }

        args.AddRange(["-accel", ProfileEnum.Name(plan.Accelerator)]);
        if (profile.Memory is not null)
        {
            args.AddRange(["-m", profile.Memory]);
        }

        if (profile.Smp is int smp)
        {
            args.AddRange(["-smp", smp.ToString(CultureInfo.InvariantCulture)]);
        }

        args.AddRange(UefiFirmware.CodeArguments(plan.Firmware));
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

        foreach (QemuDrive drive in plan.Drives)
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
