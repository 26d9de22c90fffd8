namespace QemuTestKit;

/// <summary>
/// How a profile is launched, decided once from the profile and this host: the runner, the QEMU binary, the
/// architecture, the accelerator, the machine type, the console device, the drives and QEMU's arguments, and the host
/// files QEMU reads. The command line, the warm-start key, the boot line and the launcher all read this one decision.
/// Immutable; <see cref="Resolve(QemuProfile)"/> makes one, <see cref="QemuBoot.StartAsync(QemuLaunchPlan, QemuBootOptions?, CancellationToken)"/>
/// boots it.
/// </summary>
public sealed record QemuLaunchPlan
{
    internal QemuLaunchPlan(QemuProfile profile, QemuRunner runner, string binary, QemuAccelerator accelerator, UefiFirmware? firmware = null)
    {
        Profile = profile;
        Runner = runner;
        Binary = binary;
        Accelerator = accelerator;
        Firmware = firmware;
        Drives = WithIds(profile.Drives);
    }

    /// <summary>The profile this plan was resolved from.</summary>
    public QemuProfile Profile { get; internal init; }

    /// <summary>Where QEMU runs.</summary>
    public QemuRunner Runner { get; }

    /// <summary>
    /// The QEMU binary: an absolute path on this host for <see cref="QemuRunner.Local"/>; for
    /// <see cref="QemuRunner.Container"/> the name QEMU has inside the image (the host may have no QEMU).
    /// </summary>
    public string Binary { get; }

    /// <summary>The guest architecture (<c>qemu-system-&lt;arch&gt;</c>).</summary>
    public string Architecture => Profile.Arch;

    /// <summary>
    /// The accelerator QEMU gets, never <see cref="QemuAccelerator.Auto"/>: <see cref="QemuAccelerator.Kvm"/> only for a
    /// guest of the host's own architecture on a host whose <c>/dev/kvm</c> works, else <see cref="QemuAccelerator.Tcg"/>,
    /// unless the profile or <c>QEMUTESTKIT_ACCEL</c> names one (<c>hvf</c> on macOS, <c>whpx</c> on Windows).
    /// </summary>
    public QemuAccelerator Accelerator { get; }

    /// <summary>
    /// The UEFI firmware files for a profile with <see cref="QemuProfile.Firmware"/> <see cref="QemuFirmware.Uefi"/>; null
    /// for QEMU's default firmware. Each machine of the plan gets its own copy of the variable store.
    /// </summary>
    public UefiFirmware? Firmware { get; }

    /// <summary>The QEMU machine type (<c>-machine</c>); null for QEMU's default.</summary>
    public string? MachineType => Profile.Machine;

    /// <summary>The serial console's device; null for a VM without a console.</summary>
    public QemuProfileConsole? Console => Profile.Console;

    /// <summary>
    /// The drives QEMU gets, in order: the profile's, or (warm start) copy-on-write layers in their place. Every drive has
    /// its <see cref="QemuDrive.Id"/> (the profile's, else <c>disk0</c>, <c>disk1</c>, … by position).
    /// </summary>
    public IReadOnlyList<QemuDrive> Drives { get; internal init; }

    /// <summary>The guest's user-mode NIC (<c>restrict=on</c>, netdev <c>net0</c>); null for none.</summary>
    public QemuProfileNetwork? Network => Profile.Network;

    /// <summary>
    /// The virtio-serial controller that carries the guest agent's port, or null when the profile has no
    /// <see cref="QemuProfile.GuestAgent"/>: <c>virtio-serial-device</c> (virtio-mmio) on <c>microvm</c>, which has no PCI
    /// bus, else <c>virtio-serial-pci</c> (PCI on <c>pc</c>, <c>q35</c> and aarch64 <c>virt</c>, whose kernels have the
    /// generic PCI host built in). The machine adds it with the agent's socket, which it owns.
    /// </summary>
    public string? GuestAgentSerialDevice => Profile.GuestAgent ? (MachineType == "microvm" ? "virtio-serial-device" : "virtio-serial-pci") : null;

    /// <summary>The guest's display device for screendumps.</summary>
    public QemuDisplay Display => Profile.Display;

    /// <summary>
    /// QEMU's arguments for the profile (accelerator, memory, CPUs, kernel, drives, the profile's extra arguments).
    /// The machine type and the console are not here: <see cref="QemuMachine"/> adds them, as it owns the console socket.
    /// </summary>
    public IReadOnlyList<string> Arguments => QemuProfileArguments.Build(this);

    /// <summary>
    /// The host files QEMU opens (kernel, initrd, drive images, firmware), as data: a launcher that runs QEMU elsewhere
    /// (a container) makes them visible at the same paths.
    /// </summary>
    public IReadOnlyList<string> HostFiles =>
        [.. new[] { Profile.Kernel, Profile.Initrd, Firmware?.Code, Firmware?.VariablesTemplate }.OfType<string>(), .. Drives.Select(d => d.Path)];

    /// <summary>Resolves the plan of a profile on this host: finds the binary and decides the accelerator, once.</summary>
    /// <param name="profile">The profile to launch.</param>
    /// <exception cref="ArgumentNullException"><paramref name="profile"/> is null.</exception>
    /// <exception cref="FileNotFoundException">A local profile's QEMU binary was not found; the message says how to install or name one.</exception>
    /// <exception cref="QemuProfileException">The profile asks for UEFI firmware that is not installed; the message names the package.</exception>
    public static QemuLaunchPlan Resolve(QemuProfile profile) => Resolve(profile, QemuHost.Current);

    /// <summary>Resolves against the given host facts; the one place a profile's binary, accelerator and firmware are decided.</summary>
    internal static QemuLaunchPlan Resolve(QemuProfile profile, QemuHost host)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(host);
        if (profile.Runner == QemuRunner.Container)
        {
            // QEMU is in the image and KVM is not passed into containers: nothing on this host is asked, so a host with a
            // usable /dev/kvm and no QEMU of its own (what the container runner is for) still plans a TCG boot.
            // The firmware files are this host's: the launcher makes HostFiles visible to QEMU in the container.
            string inImage = profile.QemuBinary is { Length: > 0 } named ? Path.GetFileName(named) : "qemu-system-" + profile.Arch;
            return new QemuLaunchPlan(
                profile, QemuRunner.Container, inImage, profile.Accel == QemuAccelerator.Kvm ? QemuAccelerator.Kvm : QemuAccelerator.Tcg, DecideFirmware(profile, null, host));
        }

        string binary = host.ResolveBinary(profile);
        return new QemuLaunchPlan(profile, QemuRunner.Local, binary, DecideAccelerator(profile, binary, host), DecideFirmware(profile, binary, host));
    }

    /// <summary>The one place a drive's default id is decided: by position, so it is the same on every run.</summary>
    internal static QemuDrive[] WithIds(IReadOnlyList<QemuDrive> drives) =>
        [.. drives.Select((drive, i) => drive.Id is null ? drive with { Id = QemuDriveInterfaces.DefaultId(i) } : drive)];

    private static UefiFirmware? DecideFirmware(QemuProfile profile, string? binary, QemuHost host) =>
        profile.Firmware == QemuFirmware.Uefi ? UefiFirmware.Find(profile, binary, host.FileExists) : null;

    /// <summary>
    /// <c>auto</c> takes KVM when the guest is of the host's architecture and KVM is usable (a foreign guest is emulated
    /// whatever the host offers: KVM cannot run another architecture's code); <c>QEMUTESTKIT_ACCEL</c> (<c>kvm</c>,
    /// <c>tcg</c>, <c>hvf</c>, <c>whpx</c>) overrides <c>auto</c> for a whole run, for the guests of the host's
    /// architecture: a run with <c>hvf</c> on Apple silicon still emulates its x86_64 guests.
    /// </summary>
    private static QemuAccelerator DecideAccelerator(QemuProfile profile, string binary, QemuHost host)
    {
        if (profile.Accel != QemuAccelerator.Auto)
        {
            return profile.Accel;
        }

        bool native = profile.Arch == host.Architecture;
        if (ProfileEnum.TryParse(host.AcceleratorOverride, out QemuAccelerator forced) && forced != QemuAccelerator.Auto)
        {
            // Every accelerator but TCG runs the guest's code on the host's CPU, so it cannot run another architecture's.
            return native ? forced : QemuAccelerator.Tcg;
        }

        return native && host.KvmUsable(profile.Arch, binary) ? QemuAccelerator.Kvm : QemuAccelerator.Tcg;
    }
}
