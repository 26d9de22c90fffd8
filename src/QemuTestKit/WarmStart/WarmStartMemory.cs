using System.Globalization;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// How a saved state holds the guest's RAM, decided once per launch. <b>Mapped</b>: the RAM lives in a file
/// (<c>memory-backend-file</c>); the saving VM maps it shared, the migration stream carries only device state
/// (capability <c>x-ignore-shared</c>), and every restored VM maps the saved file privately (<c>share=off</c>), copy-on-write:
/// restore time does not grow with RAM and restored VMs share the pages they have not written through the page cache.
/// <b>Stream</b>: the whole RAM goes through the migration stream and each restored VM reads a private copy; the fallback
/// where mapping does not apply (see <see cref="StreamReason"/>).
/// </summary>
/// <param name="Mapped">True when the RAM is kept in a file that restored VMs map.</param>
/// <param name="Size">The RAM size as QEMU's <c>size=</c> takes it (e.g. <c>256M</c>); null for a stream state.</param>
/// <param name="StreamReason">Why the RAM is streamed; null when mapped.</param>
internal sealed partial record WarmStartMemory(bool Mapped, string? Size, string? StreamReason)
{
    /// <summary>The id of the memory backend warm start adds; the profile cannot already use it (see <see cref="Decide"/>).</summary>
    public const string BackendId = "qtk-warm-ram";

    /// <summary>QEMU 5.0 brought <c>-machine memory-backend=</c>; <c>x-ignore-shared</c> is older (4.0).</summary>
    private static readonly Version s_firstMappingQemu = new(5, 0);

    /// <summary>What goes into the key of the state: a mapped state and a stream state are different files.</summary>
    public string KeyText => Mapped ? "mapped-file:" + Size : "stream";

    /// <summary>
    /// Mapped when the caller allows it, QEMU is 5.0 or later, the profile names a plain RAM size and chooses no memory
    /// backend of its own; else stream, with the reason. (Containers never get here: warm start runs QEMU locally only.)
    /// </summary>
    public static WarmStartMemory Decide(QemuLaunchPlan plan, string qemuVersion, bool mapAllowed)
    {
        ArgumentNullException.ThrowIfNull(plan);
        QemuProfile profile = plan.Profile;
        if (!mapAllowed)
        {
            return Stream("mapping is turned off by the caller (WarmStartOptions.MapMemory = false)");
        }

        if (!Version.TryParse(qemuVersion, out Version? version) || version < s_firstMappingQemu)
        {
            return Stream($"QEMU {qemuVersion} is older than {s_firstMappingQemu} (no -machine memory-backend=)");
        }

        if (profile.Memory is null)
        {
            return Stream($"profile '{profile.Name}' sets no memory size, and a mapped RAM file needs one");
        }

        if (BackendSize(profile.Memory) is not { } size)
        {
            return Stream($"profile '{profile.Name}' has memory '{profile.Memory}', not a plain size (such as 256M) that a RAM file can match");
        }

        if (profile.Args.FirstOrDefault(OwnMemoryArgument) is { } own)
        {
            return Stream($"profile '{profile.Name}' chooses its own memory ('{own}')");
        }

        return new WarmStartMemory(true, size, null);
    }

    /// <summary>
    /// The plan with the RAM in <paramref name="ramPath"/>: shared for the saving VM (its RAM is the file), private for
    /// a restored one (QEMU never writes the file). The profile's <c>-m</c> stays and matches the backend's size.
    /// </summary>
    public QemuLaunchPlan Apply(QemuLaunchPlan plan, string ramPath, bool shared)
    {
        if (!Mapped)
        {
            return plan;
        }

        string backend = string.Join(
            ',',
            "memory-backend-file",
            "id=" + BackendId,
            "size=" + Size,
            QemuOptionValue.Pair("mem-path", ramPath),
            shared ? "share=on" : "share=off");

        // A second -machine merges with the type QemuMachine sets (QEMU merges repeated -machine options).
        return plan with { Profile = plan.Profile with { Args = [.. plan.Profile.Args, "-object", backend, "-machine", "memory-backend=" + BackendId] } };
    }

    /// <summary>QEMU's <c>-m</c> value as a backend size: a bare number is MiB for <c>-m</c> but bytes for <c>size=</c>.</summary>
    public static string? BackendSize(string memory)
    {
        Match match = SizePattern().Match(memory.Trim());
        if (!match.Success)
        {
            return null;
        }

        string unit = match.Groups["unit"].Value.ToUpperInvariant();
        return string.Create(CultureInfo.InvariantCulture, $"{match.Groups["number"].Value}{(unit.Length == 0 ? "M" : unit)}");
    }

    private static WarmStartMemory Stream(string reason) => new(false, null, reason);

    private static bool OwnMemoryArgument(string argument) =>
        argument is "-mem-path" or "-mem-prealloc" or "-numa"
        || argument.StartsWith("memory-backend", StringComparison.Ordinal)
        || argument.Contains("memory-backend=", StringComparison.Ordinal)
        || argument.Contains(BackendId, StringComparison.Ordinal);

    [GeneratedRegex(@"^(?:size=)?(?<number>[1-9][0-9]*)(?<unit>[KMGTkmgt]?)$", RegexOptions.CultureInvariant)]
    private static partial Regex SizePattern();
}
