using System.Reflection;
using System.Text.Json;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// The profiles every test project has without configuration: <c>none</c> (QEMU with <c>-machine none</c>, QMP only,
/// no guest), <c>tiny-x86_64</c> and <c>tiny-aarch64</c> (the tiny Linux guest that <c>build/guest/build.sh</c> makes
/// for each architecture), and <c>tiny</c>, the tiny guest of the host's architecture; <c>tiny-uefi*</c> boot it by UEFI
/// firmware from a disk, <c>tiny-agent*</c> with the QEMU guest agent.
/// </summary>
internal static class BuiltInProfiles
{
    public const string None = "none";

    public const string Tiny = "tiny";

    public const string TinyX86_64 = "tiny-x86_64";

    public const string TinyAarch64 = "tiny-aarch64";

    public const string TinyUefi = "tiny-uefi";

    public const string TinyUefiX86_64 = "tiny-uefi-x86_64";

    public const string TinyUefiAarch64 = "tiny-uefi-aarch64";

    public const string TinyAgent = "tiny-agent";

    public const string TinyAgentX86_64 = "tiny-agent-x86_64";

    public const string TinyAgentAarch64 = "tiny-agent-aarch64";

    /// <summary>The tiny guest's UEFI disk image in its folder (build/guest/build-disk.sh writes it).</summary>
    public const string TinyUefiDisk = "disk-uefi.img";

    /// <summary>The tiny guest's initramfs in its folder, without the guest agent (build/guest/build.sh writes it).</summary>
    public const string TinyInitrd = "initramfs.cpio.gz";

    /// <summary>
    /// The tiny guest's initramfs with the guest agent: <see cref="TinyInitrd"/> with qemu-ga and its libraries appended as
    /// a second archive. Only the tiny-agent profiles boot it, so the other boots do not decompress the agent.
    /// </summary>
    public const string TinyAgentInitrd = "initramfs-agent.cpio.gz";

    public const string Source = "built-in";

    public const string TinyReadyMarker = "QEMUTESTKIT-READY";

    public const string TinyPrompt = "qtk# ";

    /// <summary>The architectures <c>build/guest/build.sh</c> builds the tiny guest for (its <c>out/&lt;arch&gt;</c> folders).</summary>
    public static IReadOnlyList<string> TinyArchitectures { get; } = ["x86_64", "aarch64"];

    public static IReadOnlyList<string> Names { get; } =
        [None, Tiny, TinyX86_64, TinyAarch64, TinyUefi, TinyUefiX86_64, TinyUefiAarch64, TinyAgent, TinyAgentX86_64, TinyAgentAarch64];

    /// <summary>Creates a built-in profile; a tiny profile looks for its guest now, so it throws when it is not built.</summary>
    /// <exception cref="QemuProfileException">The guest is not built, or there is no tiny guest for the host's architecture.</exception>
    public static QemuProfile? TryCreate(string name, string baseDirectory) => name switch
    {
        None => new QemuProfile(None) { Machine = "none", Source = Source, BootTimeout = TimeSpan.FromSeconds(60) },
        Tiny => CreateTiny(Guest(baseDirectory, HostTinyArchitecture(), Tiny), HostTinyArchitecture(), Tiny),
        TinyX86_64 => CreateTiny(Guest(baseDirectory, "x86_64", TinyX86_64), "x86_64", TinyX86_64),
        TinyAarch64 => CreateTiny(Guest(baseDirectory, "aarch64", TinyAarch64), "aarch64", TinyAarch64),
        TinyUefi => CreateTinyUefi(Guest(baseDirectory, HostTinyArchitecture(), TinyUefi), HostTinyArchitecture(), TinyUefi),
        TinyUefiX86_64 => CreateTinyUefi(Guest(baseDirectory, "x86_64", TinyUefiX86_64), "x86_64", TinyUefiX86_64),
        TinyUefiAarch64 => CreateTinyUefi(Guest(baseDirectory, "aarch64", TinyUefiAarch64), "aarch64", TinyUefiAarch64),
        TinyAgent => CreateTinyAgent(Guest(baseDirectory, HostTinyArchitecture(), TinyAgent), HostTinyArchitecture(), TinyAgent),
        TinyAgentX86_64 => CreateTinyAgent(Guest(baseDirectory, "x86_64", TinyAgentX86_64), "x86_64", TinyAgentX86_64),
        TinyAgentAarch64 => CreateTinyAgent(Guest(baseDirectory, "aarch64", TinyAgentAarch64), "aarch64", TinyAgentAarch64),
        _ => null,
    };

    /// <summary>The guest folder of <paramref name="arch"/>, whose errors name the requested <paramref name="profile"/>.</summary>
    private static string Guest(string baseDirectory, string arch, string profile) =>
        FindGuestDirectory(baseDirectory, arch, Environment.GetEnvironmentVariable("QTK_GUEST_DIR"), profile);

    /// <summary>
    /// The tiny guest of <paramref name="arch"/> booted by UEFI firmware from its disk image, not <c>-kernel</c>: the
    /// firmware finds no default boot file on the disk, starts its shell, counts down and runs the disk's
    /// <c>startup.nsh</c>, which starts the kernel (an EFI application) with its initramfs and command line. A user's
    /// own image takes the same path: <c>"firmware": "uefi"</c> and a drive.
    /// </summary>
    /// <exception cref="QemuProfileException">The guest's disk image is not built.</exception>
    /// <exception cref="ArgumentOutOfRangeException">There is no tiny guest for <paramref name="arch"/>.</exception>
    public static QemuProfile CreateTinyUefi(string guestDirectory, string arch, string name)
    {
        string disk = Path.Combine(guestDirectory, TinyUefiDisk);
        if (!File.Exists(disk))
        {
            throw new QemuProfileException(
                $"Profile '{name}': the tiny guest's UEFI disk image {disk} is not built; run 'bash build/guest/build.sh {arch}' from the repository root "
                + "(it calls build-disk.sh, which needs gdisk, dosfstools and mtools: build/install-prerequisites.sh installs them).",
                name, null, Source);
        }

        QemuProfile tiny = CreateTiny(guestDirectory, arch, name);
        return tiny with
        {
            Kernel = null,
            Initrd = null,
            Append = null,
            Firmware = QemuFirmware.Uefi,
            // snapshot=on: the VMs of a run share the image, and none may change it for the next.
            Drives = [new QemuDrive(disk) { Format = "raw", Interface = "virtio", Snapshot = true }],
            // No NIC: with one, the firmware tries PXE and HTTP boot (IPv4 and IPv6, each with its own timeouts) before it
            // falls back to its shell and startup.nsh, which costs minutes under TCG. An image that boots from the
            // network, or wants a NIC, says so in its own profile.
            Network = null,
            // A guest that panics (panic=-1 on the disk's command line) would otherwise reboot into the firmware again.
            Args = [.. tiny.Args, "-no-reboot"],
            // The firmware's own words when it has nothing left to boot; it then waits for a key forever, so fail now
            // with its console, whose tail has the boot manager's "failed to start Boot000N ...: <status>" lines. Seen
            // twice, both times the firmware's own shell (Boot0002, from the firmware volume, not the disk) "failed to
            // start" with "Device Error" after the disk's Boot0001 was "Not Found" as it always is: once under heavy load
            // while this profile still had a NIC, and once in a CI run at load ~10 without one (2026-12-01, before any key
            // was sent), so the NIC was not the cause. 48 of 48 boots without a NIC reached the prompt, 4 or 6 at once
            // beside 2 CPU burners at load 14-31. Debian's OVMF is a release build: -debugcon gets no log from it.
            FailurePatterns = [.. tiny.FailurePatterns, "No bootable option or device was found"],
        };
    }

    /// <summary>
    /// The tiny guest of <paramref name="arch"/> with the QEMU guest agent (<see cref="QemuProfile.GuestAgent"/>): its
    /// qemu-ga answers on the virtio-serial port, and the boot is ready once it does. It boots <see cref="TinyAgentInitrd"/>,
    /// the only initramfs with qemu-ga. A variant rather than the default for <c>tiny</c>: the agent's initramfs is 2.5
    /// times the size, waiting for the agent adds a little to every boot (see the README), the container runner's
    /// stream transport does not relay the agent's socket yet, and the device set (so the warm-start key) of every
    /// existing <c>tiny</c> VM stays as it was.
    /// </summary>
    /// <exception cref="QemuProfileException">The guest's folder has no <see cref="TinyAgentInitrd"/> (a guest built before it existed).</exception>
    /// <exception cref="ArgumentOutOfRangeException">There is no tiny guest for <paramref name="arch"/>.</exception>
    public static QemuProfile CreateTinyAgent(string guestDirectory, string arch, string name)
    {
        string initrd = Path.Combine(guestDirectory, TinyAgentInitrd);
        if (!File.Exists(initrd))
        {
            throw new QemuProfileException(
                $"Profile '{name}': the tiny guest's initramfs with the guest agent, {initrd}, is not there (the guest in {guestDirectory} was built " +
                $"without it); rebuild it with 'bash build/guest/build.sh {arch}' from the repository root, or restore the QemuTestKit.Guests package " +
                "of the same version as QemuTestKit.",
                name, null, Source);
        }

        return CreateTiny(guestDirectory, arch, name) with { Initrd = initrd, GuestAgent = true };
    }

    /// <summary>The x86_64 tiny guest as the profile <c>tiny</c> (what the kit's own x86_64 tests boot).</summary>
    public static QemuProfile CreateTiny(string guestDirectory) => CreateTiny(guestDirectory, "x86_64", Tiny);

    /// <summary>The tiny guest of <paramref name="arch"/> in <paramref name="guestDirectory"/>, named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">There is no tiny guest for <paramref name="arch"/>.</exception>
    public static QemuProfile CreateTiny(string guestDirectory, string arch, string name)
    {
        var profile = new QemuProfile(name)
        {
            Source = Source,
            Arch = arch,
            Memory = "256M",
            Kernel = Path.Combine(guestDirectory, "vmlinuz"),
            Initrd = Path.Combine(guestDirectory, TinyInitrd),
            Console = new QemuProfileConsole(),
            ReadyPattern = TinyReadyMarker,
            FailurePatterns = ["Kernel panic"],
            Prompt = TinyPrompt,
            WarmStart = true,

            // A user-mode NIC with restrict=on: the guest gets 10.0.2.15 by DHCP and reaches nothing outside the VM; the
            // test reaches its servers only through ports it forwards on 127.0.0.1.
            Network = new QemuProfileNetwork(),
        };
        return arch switch
        {
            "x86_64" => profile with
            {
                Machine = "pc",
                // no_timer_check: on a loaded host under TCG the kernel's IO-APIC timer check can fail and panic the
                // boot ("IO-APIC + timer doesn't work!"); the check proves nothing about a VM.
                Append = "console=ttyS0 quiet panic=-1 no_timer_check",
            },
            "aarch64" => profile with
            {
                // virt: the machine made for guests (PCIe, virtio-mmio, PL011 UART, GIC), the console on ttyAMA0.
                Machine = "virt",
                Append = "console=ttyAMA0 quiet panic=-1",
                // The profile has no CPU field yet, so the CPU model travels as an extra argument.
                Args = ["-cpu", Aarch64Cpu(HostArchitecture.Current)],
            },
            _ => throw new ArgumentOutOfRangeException(nameof(arch), arch, $"There is no tiny guest for '{arch}'; choose one of {string.Join(", ", TinyArchitectures)}."),
        };
    }

    /// <summary>
    /// <c>max</c> (every feature TCG emulates), with QEMU's own pointer-authentication algorithm when the guest cannot
    /// run under KVM: the architected one (QARMA) is so slow to emulate that the tiny guest boots in ~8 s instead of
    /// ~2 s. On an aarch64 host <c>pauth-impdef</c> is left out, because KVM (which that host may use) rejects it.
    /// </summary>
    internal static string Aarch64Cpu(string? hostArch) => hostArch == "aarch64" ? "max" : "max,pauth-impdef=on";

    /// <summary>
    /// The folder of the x86_64 tiny guest: <c>QTK_GUEST_DIR</c>, else <c>qemu-guests</c> in
    /// <paramref name="baseDirectory"/> (where the QemuTestKit.Guests package copies the guests), else the first
    /// <c>build/guest/out</c> above it, so tests in this repository and its samples find the guest with no configuration.
    /// </summary>
    public static string FindGuestDirectory(string baseDirectory) => FindGuestDirectory(baseDirectory, "x86_64");

    /// <summary>The folder of the tiny guest of <paramref name="arch"/> (see <see cref="FindGuestDirectory(string)"/>).</summary>
    /// <exception cref="QemuProfileException">The guest is not built; the message says how to build it.</exception>
    public static string FindGuestDirectory(string baseDirectory, string arch) =>
        FindGuestDirectory(baseDirectory, arch, Environment.GetEnvironmentVariable("QTK_GUEST_DIR"));

    /// <inheritdoc cref="FindGuestDirectory(string, string, string?, string)"/>
    internal static string FindGuestDirectory(string baseDirectory, string arch, string? fromEnv) =>
        FindGuestDirectory(baseDirectory, arch, fromEnv, ProfileName(arch));

    /// <summary>
    /// The folder, next to the test assembly, where the QemuTestKit.Guests package's build targets copy the guests
    /// (<c>qemu-guests/&lt;arch&gt;/</c>; the same name is in that package's <c>QemuTestKit.Guests.targets</c>).
    /// </summary>
    public const string PackagedGuestsFolder = "qemu-guests";

    /// <summary>
    /// Where the tiny guest of <paramref name="arch"/> is: <paramref name="fromEnv"/> (<c>QTK_GUEST_DIR</c>), else
    /// <see cref="PackagedGuestsFolder"/> in <paramref name="baseDirectory"/>, else the first <c>build/guest/out</c> above
    /// it (a clone of the kit). A folder is a guest when it holds <c>guest.json</c> for that architecture; each place may be
    /// a folder whose <c>&lt;arch&gt;</c> subfolders hold the guests, or one guest's own folder. Its errors name
    /// <paramref name="profile"/>, the profile the user asked for.
    /// </summary>
    /// <exception cref="QemuProfileException">The guest is not built; the message says how to build it.</exception>
    internal static string FindGuestDirectory(string baseDirectory, string arch, string? fromEnv, string profile)
    {
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return GuestIn(fromEnv, arch, profile) ?? throw new QemuProfileException(
                $"Profile '{profile}': QTK_GUEST_DIR is '{fromEnv}' but holds no {arch} guest (no {Path.Combine(arch, "guest.json")}, " +
                $"and no guest.json whose \"arch\" is {arch}). Point QTK_GUEST_DIR at a folder holding {arch}/guest.json, " +
                "or unset it to use the guests of the QemuTestKit.Guests package.",
                profile, null, Source);
        }

        if (GuestIn(Path.Combine(baseDirectory, PackagedGuestsFolder), arch, profile) is string packaged)
        {
            return packaged;
        }

        for (DirectoryInfo? dir = new(baseDirectory); dir is not null; dir = dir.Parent)
        {
            if (GuestIn(Path.Combine(dir.FullName, "build", "guest", "out"), arch, profile) is string found)
            {
                return found;
            }
        }

        throw new QemuProfileException(
            $"Profile '{profile}': the tiny test guest for {arch} was not found (no {Path.Combine(PackagedGuestsFolder, arch, "guest.json")} in {baseDirectory}, " +
            $"no build/guest/out/{arch}/guest.json above it, QTK_GUEST_DIR not set). To fix: add " +
            "<PackageReference Include=\"QemuTestKit.Guests\" Version=\"" + PackageVersion + "\" /> to the test project, which copies the guests next to " +
            $"the test assembly; or set QTK_GUEST_DIR to a folder holding {arch}/guest.json. (In a clone of QemuTestKit, 'bash build/guest/build.sh' " +
            $"builds every architecture; 'build.sh {arch}' builds only this one.)",
            profile, null, Source);
    }

    /// <summary>The version of this assembly's package, which the matching QemuTestKit.Guests package has too.</summary>
    private static string PackageVersion =>
        typeof(BuiltInProfiles).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "*";

    /// <summary>
    /// <paramref name="folder"/>/<paramref name="arch"/> if it is a guest, else <paramref name="folder"/> itself if its
    /// guest.json is for <paramref name="arch"/> (a guest.json without <c>arch</c> is x86_64: guests built before the
    /// aarch64 one existed), else null.
    /// </summary>
    private static string? GuestIn(string folder, string arch, string profile)
    {
        string perArch = Path.Combine(folder, arch);
        if (File.Exists(Path.Combine(perArch, "guest.json")))
        {
            return Path.GetFullPath(perArch);
        }

        string single = Path.Combine(folder, "guest.json");
        return File.Exists(single) && GuestArch(single, profile) == arch ? Path.GetFullPath(folder) : null;
    }

    private static string GuestArch(string guestJson, string profile)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(guestJson));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("arch", out JsonElement value)
                && value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : "x86_64";
        }
        catch (JsonException ex)
        {
            throw new QemuProfileException(
                $"The tiny guest's {guestJson} is not valid JSON ({ex.Message}); restore the QemuTestKit.Guests package again (or rebuild the guest with 'bash build/guest/build.sh').",
                profile, null, Source, ex);
        }
    }

    private static string ProfileName(string arch) => arch switch
    {
        "x86_64" => TinyX86_64,
        "aarch64" => TinyAarch64,
        _ => Tiny,
    };

    private static string? HostTinyArchitectureOrNull() =>
        TinyArchitectures.Contains(HostArchitecture.Current) ? HostArchitecture.Current : null;

    /// <summary>The host's architecture, which <c>tiny</c> stands for.</summary>
    /// <exception cref="QemuProfileException">There is no tiny guest for the host's architecture.</exception>
    private static string HostTinyArchitecture() => HostTinyArchitectureOrNull() ?? throw new QemuProfileException(
        $"Profile 'tiny' is the tiny guest of the host's architecture, and there is none for {HostArchitecture.Current}; use '{TinyX86_64}' or '{TinyAarch64}' (emulated).",
        Tiny, null, Source);
}
