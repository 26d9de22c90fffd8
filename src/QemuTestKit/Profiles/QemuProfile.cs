namespace QemuTestKit;

/// <summary>
/// A named VM definition: what to boot and how to tell that it is ready. Profiles come from the run manifest the
/// build writes (<c>qemutestkit.manifest.json</c>), from <c>qemu-profiles.json</c> beside the test assembly, or are
/// built in (<c>none</c> and <c>tiny</c>); <c>QemuProfiles</c> loads and resolves them. Immutable: use
/// <c>with</c> to derive a variant.
/// </summary>
/// <remarks>Relative paths in a profile file are resolved against that file's folder when it is loaded, so every
/// path here is absolute.</remarks>
public sealed record QemuProfile
{
    /// <summary>The default time allowed for a boot to reach <see cref="ReadyPattern"/>.</summary>
    public static readonly TimeSpan DefaultBootTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The default time allowed for a graceful shutdown before QEMU is killed.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Creates a profile with the given name and every other setting at its default.</summary>
    /// <param name="name">The profile's name, as used in <c>[QemuMachine("name")]</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public QemuProfile(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The profile's name.</summary>
    public string Name { get; init; }

    /// <summary>The guest architecture; selects <c>qemu-system-&lt;arch&gt;</c>. Default <c>x86_64</c>.</summary>
    public string Arch { get; init; } = "x86_64";

    /// <summary>The QEMU machine type (<c>-machine</c>), for example <c>pc</c>, <c>q35</c> or <c>none</c>; null for QEMU's default.</summary>
    public string? Machine { get; init; }

    /// <summary>Guest memory as QEMU's <c>-m</c> takes it (<c>256M</c>, <c>1G</c>); null for QEMU's default.</summary>
    public string? Memory { get; init; }

    /// <summary>Number of virtual CPUs (<c>-smp</c>); null for QEMU's default.</summary>
    public int? Smp { get; init; }

    /// <summary>Accelerator: <c>auto</c> (KVM when <c>/dev/kvm</c> is usable, else TCG), <c>kvm</c> or <c>tcg</c>.</summary>
    public QemuAccelerator Accel { get; init; } = QemuAccelerator.Auto;

    /// <summary>The firmware: <c>default</c> (QEMU's own) or <c>uefi</c> (OVMF / AAVMF as pflash; see <see cref="QemuFirmware"/>).</summary>
    public QemuFirmware Firmware { get; init; } = QemuFirmware.Default;

    /// <summary>Absolute path of the kernel to boot directly (<c>-kernel</c>), if any.</summary>
    public string? Kernel { get; init; }

    /// <summary>Absolute path of the initial ramdisk (<c>-initrd</c>), if any.</summary>
    public string? Initrd { get; init; }

    /// <summary>The kernel command line (<c>-append</c>), if any.</summary>
    public string? Append { get; init; }

    /// <summary>Disk images to attach, in order.</summary>
    public IReadOnlyList<QemuDrive> Drives { get; init; } = [];

    /// <summary>A user-mode NIC with <c>restrict=on</c> (netdev id <c>net0</c>); null (the default) for no network at all.</summary>
    public QemuProfileNetwork? Network { get; init; }

    /// <summary>The display device for screendumps (QEMU itself stays headless); <see cref="QemuDisplay.None"/> by default.</summary>
    public QemuDisplay Display { get; init; } = QemuDisplay.None;

    /// <summary>
    /// Whether the VM gets the QEMU guest agent's channel: a virtio-serial port named <c>org.qemu.guest_agent.0</c> on a
    /// unix-socket chardev. The boot then also waits for the agent in the guest to answer (part of the ready condition),
    /// and <c>QemuMachine.GuestAgent</c> is a connected client; file copies go through the agent. The guest must
    /// run <c>qemu-ga</c> on that port (the tiny guest does). JSON: <c>"guestAgent": true</c>.
    /// </summary>
    public bool GuestAgent { get; init; }

    /// <summary>Extra QEMU arguments, appended as given.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>The serial console the kit reads and types into; null for a VM without a console (QMP only).</summary>
    public QemuProfileConsole? Console { get; init; }

    /// <summary>A regular expression the console prints when the guest is ready; null means ready as soon as QMP is.</summary>
    public string? ReadyPattern { get; init; }

    /// <summary>Regular expressions that mean the boot failed (for example <c>Kernel panic</c>); matched while waiting for <see cref="ReadyPattern"/>.</summary>
    public IReadOnlyList<string> FailurePatterns { get; init; } = [];

    /// <summary>The guest shell's prompt, used by the console to frame commands; null if the guest has no shell.</summary>
    public string? Prompt { get; init; }

    /// <summary>How long a boot may take to reach <see cref="ReadyPattern"/>.</summary>
    public TimeSpan BootTimeout { get; init; } = DefaultBootTimeout;

    /// <summary>How long a graceful shutdown may take before QEMU is killed (and the shutdown reported as failed).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = DefaultShutdownTimeout;

    /// <summary>Whether the warm start feature may boot this profile once and restore it for each class.</summary>
    public bool WarmStart { get; init; }

    /// <summary>Where QEMU runs: <c>local</c> (a process on this machine) or <c>container</c>.</summary>
    public QemuRunner Runner { get; init; } = QemuRunner.Local;

    /// <summary>The container image for <see cref="Runner"/> <c>container</c>.</summary>
    public string? ContainerImage { get; init; }

    /// <summary>The QEMU binary the build found (the manifest's <c>qemu.binary</c>), if any; else it is found at launch.</summary>
    public string? QemuBinary { get; init; }

    /// <summary>Where the profile was defined: a file path, or <c>built-in</c>. For error messages.</summary>
    public string Source { get; init; } = "code";

    /// <summary>True when the profile boots a kernel directly (<see cref="Kernel"/> is set).</summary>
    public bool IsKernelBoot => Kernel is not null;
}
