namespace QemuTestKit.Tests.Infrastructure;

/// <summary>
/// Finds what the end-to-end tests need on this machine, and fails with the command that installs it
/// when something is missing: a missing QEMU is a failure, never a skip.
/// </summary>
internal static class TestPrerequisites
{
    private const string InstallHint = "run 'bash build/install-prerequisites.sh' (or 'apt-get install qemu-system-x86 qemu-utils')";

    public static string QemuBinary => s_qemu.Value;

    public static string GuestDirectory => s_guest.Value;

    public static string Kernel => Path.Combine(GuestDirectory, "vmlinuz");

    public static string Initrd => Path.Combine(GuestDirectory, "initramfs.cpio.gz");

    public const string ReadyMarker = "QEMUTESTKIT-READY";

    public const string Prompt = "qtk# ";

    /// <summary>
    /// The tiny guest's kernel command line. no_timer_check: on a loaded host under TCG the kernel's IO-APIC timer
    /// check can fail and panic the boot ("IO-APIC + timer doesn't work!").
    /// </summary>
    public const string Append = "console=ttyS0 quiet panic=-1 no_timer_check";

    private static readonly Lazy<string> s_qemu = new(() =>
    {
        string? fromEnv = Environment.GetEnvironmentVariable("QEMU_BINARY");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return File.Exists(fromEnv) ? fromEnv : throw new InvalidOperationException($"QEMU_BINARY is set to '{fromEnv}', which does not exist.");
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "qemu-system-x86_64");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"qemu-system-x86_64 was not found on PATH; {InstallHint}.");
    });

    // The same search the built-in 'tiny' profile does, so tests and the kit agree on where the guest is.
    private static readonly Lazy<string> s_guest = new(() => BuiltInProfiles.FindGuestDirectory(AppContext.BaseDirectory));
}
