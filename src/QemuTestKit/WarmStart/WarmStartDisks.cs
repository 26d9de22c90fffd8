using System.Text.Json;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// Copy-on-write layers for warm start. The saving VM writes to its own qcow2 overlay over the profile's image; at save
/// time that overlay (the disk as the saved RAM knows it) is kept beside the state, and every restored VM gets a new
/// overlay over it. The images themselves are never written.
/// </summary>
internal static class WarmStartDisks
{
    /// <summary>Writable drives get layers; read-only ones are used as they are.</summary>
    public static bool NeedsLayer(QemuDrive drive) => !drive.ReadOnly;

    public static async Task CreateOverlayAsync(string qemuBinary, string backing, string backingFormat, string overlay, CancellationToken cancellationToken)
    {
        await RunQemuImgAsync(qemuBinary, ["create", "-q", "-f", "qcow2", "-b", backing, "-F", backingFormat, overlay], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The drive's format, or what <c>qemu-img info</c> says when the profile leaves it to probing.</summary>
    public static async Task<string> FormatAsync(string qemuBinary, QemuDrive drive, CancellationToken cancellationToken)
    {
        if (drive.Format is not null)
        {
            return drive.Format;
        }

        string json = await RunQemuImgAsync(qemuBinary, ["info", "--output=json", drive.Path], cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("format").GetString() ?? "raw";
    }

    private static async Task<string> RunQemuImgAsync(string qemuBinary, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        string beside = Path.Combine(Path.GetDirectoryName(qemuBinary) ?? "", "qemu-img");
        string tool = HostToolSearch.Inspect(beside) is null ? beside : "qemu-img";
        HostToolResult result;
        try
        {
            // qemu-img info and create on a local file take milliseconds; a minute is far beyond a healthy run.
            result = await HostToolRunner.RunAsync(tool, args, TimeSpan.FromMinutes(1), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HostToolException or TimeoutException)
        {
            throw new QemuMachineException($"Warm start needs qemu-img for the profile's drives and cannot run it: {ex.Message}. To fix: {HostToolHints.QemuImg}.", ex);
        }

        return result.ExitCode == 0
            ? result.StandardOutput
            : throw new QemuMachineException($"'{result.CommandText}' exited with status {result.ExitCode}: {result.StandardError.Trim()}");
    }
}
