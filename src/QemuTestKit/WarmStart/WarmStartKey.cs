using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// The identity of a saved state: a SHA-256 over everything that shapes the guest — the QEMU binary (path and
/// <c>--version</c>), the device-shaping arguments, and the contents of the kernel, initrd and drive images. Per-VM
/// paths (sockets, temp folders, overlays) are not part of it: they differ between the saving and the restoring VM by
/// design and change no guest-visible device. How the RAM is kept (<see cref="WarmStartMemory"/>) is part of it: a mapped
/// state and a streamed one are different files.
/// </summary>
internal sealed record WarmStartKey(string Hash, string QemuVersion, JsonObject Inputs, WarmStartMemory Memory)
{
    /// <summary>Bumped when the layout of the state or the save/restore protocol changes, so old states are not used.</summary>
    public const string FormatVersion = "qemutestkit-warmstart-2";

    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), string> s_fileHashes = new();

    /// <summary>The key of a plan's saved state with the RAM mapped where it can be (the default).</summary>
    public static Task<WarmStartKey> ComputeAsync(QemuLaunchPlan plan, CancellationToken cancellationToken) =>
        ComputeAsync(plan, mapMemory: true, cancellationToken);

    /// <summary>
    /// The key of a plan's saved state: its binary, the device-shaping arguments it decided, and how the RAM is kept,
    /// decided here once (<see cref="WarmStartMemory.Decide"/>) and carried in <see cref="Memory"/>.
    /// </summary>
    public static async Task<WarmStartKey> ComputeAsync(QemuLaunchPlan plan, bool mapMemory, CancellationToken cancellationToken)
    {
        QemuProfile profile = plan.Profile;
        string binary = plan.Binary;
        QemuVersion probed = await QemuVersionAsync(binary, cancellationToken).ConfigureAwait(false);
        string version = probed.Text;
        WarmStartMemory memory = WarmStartMemory.Decide(plan, probed.Version, mapMemory);
        var files = new JsonObject();
        if (profile.Kernel is not null)
        {
            files["kernel"] = await HashFileAsync(profile.Kernel, cancellationToken).ConfigureAwait(false);
        }

        if (profile.Initrd is not null)
        {
            files["initrd"] = await HashFileAsync(profile.Initrd, cancellationToken).ConfigureAwait(false);
        }

        var drives = new JsonArray();
        foreach (QemuDrive drive in profile.Drives)
        {
            // The path stays in the key: a saved disk layer names its backing image by path.
            drives.Add(new JsonObject
            {
                ["path"] = drive.Path,
                ["sha256"] = await HashFileAsync(drive.Path, cancellationToken).ConfigureAwait(false),
            });
        }

        files["drives"] = drives;
        var inputs = new JsonObject
        {
            ["format"] = FormatVersion,
            ["binary"] = binary,
            ["qemuVersion"] = version,
            ["arguments"] = new JsonArray([.. DeviceArguments(plan).Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["readyPattern"] = profile.ReadyPattern,
            ["prompt"] = profile.Prompt,
            ["memory"] = memory.KeyText,
            ["files"] = files,
        };

        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(inputs.ToJsonString()));
        return new WarmStartKey(Convert.ToHexStringLower(digest), version, inputs, memory);
    }

    /// <summary>
    /// The arguments that shape the guest, as the plan writes them, with placeholders for the file paths (their contents
    /// are hashed separately): the same guest booted from another folder reuses the state. The plan is written with the
    /// placeholders in place, not written and then searched for its paths.
    /// </summary>
    public static IReadOnlyList<string> DeviceArguments(QemuLaunchPlan plan)
    {
        QemuProfile profile = plan.Profile;
        QemuLaunchPlan placeholders = plan with
        {
            Profile = profile with { Kernel = profile.Kernel is null ? null : "<kernel>", Initrd = profile.Initrd is null ? null : "<initrd>" },
            Drives = [.. plan.Drives.Select((drive, i) => drive with { Path = string.Create(CultureInfo.InvariantCulture, $"<drive{i}>") })],
        };
        return
        [
            "machine=" + (plan.MachineType ?? "(default)"),
            plan.Console is { } console
                ? string.Create(CultureInfo.InvariantCulture, $"console={console.Device ?? "serial"}:{console.Index}")
                : "console=(none)",
            // Only when on: the keys (and saved states) of profiles without the agent stay what they were.
            .. (plan.GuestAgentSerialDevice is { } agent ? (string[])["guestAgent=" + agent] : []),
            .. placeholders.Arguments,
        ];
    }

    private static async Task<QemuVersion> QemuVersionAsync(string binary, CancellationToken cancellationToken)
    {
        try
        {
            // The shared check: bounded, killed on timeout, remembered per file.
            return await QemuVersionProbe.ProbeAsync(binary, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HostToolException ex)
        {
            throw new QemuMachineException($"Warm start cannot key the saved state by QEMU's version: {ex.Message}.", ex);
        }
    }

    /// <summary>SHA-256 of a file, remembered per (path, size, modification time): images can be gigabytes.</summary>
    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Warm start: '{path}' does not exist.", path);
        }

        (string, long, DateTime) id = (info.FullName, info.Length, info.LastWriteTimeUtc);
        if (s_fileHashes.TryGetValue(id, out string? cached))
        {
            return cached;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        string hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        s_fileHashes[id] = hash;
        return hash;
    }
}
