namespace QemuTestKit;

/// <summary>
/// The profiles every test project has without configuration: <c>none</c> (QEMU with <c>-machine none</c>, QMP only,
/// no guest) and <c>tiny</c> (the tiny Linux guest that <c>build/guest/build.sh</c> makes).
/// </summary>
internal static class BuiltInProfiles
{
    public const string None = "none";

    public const string Tiny = "tiny";

    public const string Source = "built-in";

    public const string TinyReadyMarker = "QEMUTESTKIT-READY";

    public const string TinyPrompt = "qtk# ";

    public static IReadOnlyList<string> Names { get; } = [None, Tiny];

    /// <summary>Creates a built-in profile; <c>tiny</c> looks for the guest now, so it throws when it is not built.</summary>
    public static QemuProfile? TryCreate(string name, string baseDirectory) => name switch
    {
        None => new QemuProfile(None) { Machine = "none", Source = Source, BootTimeout = TimeSpan.FromSeconds(60) },
        Tiny => CreateTiny(FindGuestDirectory(baseDirectory)),
        _ => null,
    };

    public static QemuProfile CreateTiny(string guestDirectory) => new(Tiny)
    {
        Source = Source,
        Machine = "pc",
        Memory = "256M",
        Kernel = Path.Combine(guestDirectory, "vmlinuz"),
        Initrd = Path.Combine(guestDirectory, "initramfs.cpio.gz"),
        // no_timer_check: on a loaded host under TCG the kernel's IO-APIC timer check can fail and panic the boot
        // ("IO-APIC + timer doesn't work!"); the check proves nothing about a VM.
        Append = "console=ttyS0 quiet panic=-1 no_timer_check",
        Console = new QemuProfileConsole(),
        ReadyPattern = TinyReadyMarker,
        FailurePatterns = ["Kernel panic"],
        Prompt = TinyPrompt,
        WarmStart = true,
    };

    /// <summary>
    /// <c>QTK_GUEST_DIR</c>, else the first <c>build/guest/out</c> holding <c>guest.json</c> above the test assembly, so
    /// that tests in this repository and its samples find the guest with no configuration.
    /// </summary>
    public static string FindGuestDirectory(string baseDirectory) =>
        FindGuestDirectory(baseDirectory, Environment.GetEnvironmentVariable("QTK_GUEST_DIR"));

    internal static string FindGuestDirectory(string baseDirectory, string? fromEnv)
    {
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return File.Exists(Path.Combine(fromEnv, "guest.json"))
                ? Path.GetFullPath(fromEnv)
                : throw new QemuProfileException(
                    $"Profile 'tiny': QTK_GUEST_DIR is '{fromEnv}' but holds no guest.json; run 'bash build/guest/build.sh'.",
                    Tiny, null, Source);
        }

        for (DirectoryInfo? dir = new(baseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "build", "guest", "out");
            if (File.Exists(Path.Combine(candidate, "guest.json")))
            {
                return candidate;
            }
        }

        throw new QemuProfileException(
            $"Profile 'tiny': the tiny test guest is not built (no build/guest/out/guest.json above {baseDirectory}); run 'bash build/guest/build.sh' from the repository root, or set QTK_GUEST_DIR.",
            Tiny, null, Source);
    }
}
