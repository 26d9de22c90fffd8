using System.Globalization;

namespace QemuTestKit;

/// <summary>
/// Writes a launch plan as QEMU arguments: the one argv writer for profiles (nothing reads argv back). The machine type and the console are not here: QemuMachine adds them itself
/// (<c>SetMachine</c>, <c>SetConsole</c>) because it owns the console socket.
/// </summary>
internal static class QemuProfileArguments
{
    /// <summary>QEMU's arguments for a plan: its decided accelerator and drives, the rest from its profile.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="acceleratorText">Written as <c>-accel</c>'s value instead of the plan's (a snapshot's <c>{Accel}</c>).</param>
    public static IReadOnlyList<string> Build(QemuLaunchPlan plan, string? acceleratorText = null)
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

        args.AddRange(["-accel", acceleratorText ?? ProfileEnum.Name(plan.Accelerator)]);
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

        AddDrives(args, plan.Drives);
        if (plan.Network is { } network)
        {
            // restrict=on is not a choice here: the guest reaches nothing outside the VM, the test forwards what it needs.
            args.AddRange(["-netdev", $"user,id={QemuProfileNetwork.NetdevId},restrict=on"]);
            args.AddRange(["-device", $"{QemuOptionValue.Escape(network.Model)},netdev={QemuProfileNetwork.NetdevId},id={QemuProfileNetwork.NetdevId}-dev"]);
        }

        // QemuMachine always adds -display none: the device only gives the guest a framebuffer for screendump.
        switch (plan.Display)
        {
            case QemuDisplay.Vga:
                args.AddRange(["-device", "VGA,id=video0"]);
                break;
            case QemuDisplay.VirtioGpu:
                args.AddRange(["-device", "virtio-gpu-pci,id=video0"]);
                break;
        }

        args.AddRange(profile.Args);
        return args;
    }

    private static void AddDrives(List<string> args, IReadOnlyList<QemuDrive> drives)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        bool scsiController = false;
        for (int i = 0; i < drives.Count; i++)
        {
            QemuDrive drive = drives[i];
            string id = drive.Id ?? QemuDriveInterfaces.DefaultId(i);
            if (!ids.Add(id))
            {
                throw new ArgumentException($"Two drives have the id '{id}'; give each drive its own Id.", nameof(drives));
            }

            if (drive.Interface == QemuDriveInterfaces.Scsi && !scsiController)
            {
                args.AddRange(["-device", $"virtio-scsi-pci,id={QemuDriveInterfaces.ScsiControllerId}"]);
                scsiController = true;
            }

            args.AddRange(["-drive", DriveOption(drive, id)]);
            if (QemuDriveInterfaces.DeviceOf(drive.Interface, id) is string device)
            {
                args.AddRange(["-device", device]);
            }
        }
    }

    /// <summary>The backend of a drive: <c>if=none</c> always, so its device is ours and its id is the one we chose.</summary>
    private static string DriveOption(QemuDrive drive, string id)
    {
        if (!QemuDriveInterfaces.IsWellFormedId(id))
        {
            throw new ArgumentException($"Drive id '{id}' is not a QEMU id: use a letter, then letters, digits, '-', '_' or '.'.", nameof(id));
        }

        var parts = new List<string> { "if=none", "id=" + id, "file=" + QemuOptionValue.Escape(drive.Path) };
        if (drive.Format is not null)
        {
            parts.Add("format=" + QemuOptionValue.Escape(drive.Format));
        }

        if (drive.Cache is not null)
        {
            parts.Add("cache=" + QemuOptionValue.Escape(drive.Cache));
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
