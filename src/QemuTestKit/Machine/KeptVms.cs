using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// VMs kept running after their test process on purpose, to look at a failure (<c>QEMUTESTKIT_KEEP</c>): each lives in a
/// folder of its own under <see cref="Root"/> with its sockets and a <c>kept.json</c> that marks it as kept. The kit's
/// orphan sweep never touches these folders (they carry no owner marker), so a kept VM stays until someone removes it:
/// with its <see cref="KeptVm.StopCommand"/>, <see cref="RemoveAsync"/>, or <c>QEMUTESTKIT_KEEP=clean</c>.
/// </summary>
public static class KeptVms
{
    /// <summary>The environment variable that moves <see cref="Root"/>.</summary>
    public const string DirectoryVariable = "QEMUTESTKIT_KEPT_DIR";

    /// <summary>The marker file in a kept VM's folder.</summary>
    public const string MarkerFile = "kept.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>Where kept VMs' folders go: <c>QEMUTESTKIT_KEPT_DIR</c>, else <c>qemutestkit-kept</c> in the temp folder (short: socket paths are limited to 107 bytes).</summary>
    public static string Root => Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } root
        ? Path.GetFullPath(root)
        : Path.Combine(Path.GetTempPath(), "qemutestkit-kept");

    /// <summary>Creates a new private (0700) folder under <see cref="Root"/> for a VM that may be kept; its name starts with <paramref name="prefix"/>.</summary>
    /// <exception cref="IOException">The folder cannot be created.</exception>
    public static string CreateDirectory(string prefix) => CreateDirectory(prefix, Root);

    /// <summary>Creates the folder under <paramref name="root"/>, after removing folders there whose test process died before keeping its VM.</summary>
    internal static string CreateDirectory(string prefix, string root)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        System.IO.Directory.CreateDirectory(root);

        // A folder is created before anyone knows whether its VM will be kept; a test host that dies first (SIGKILL, a
        // crash) cannot remove it. It carries its owner's marker until Record replaces that with kept.json, so the next
        // run removes it, and never a kept VM's folder (no owner marker) or one whose owner still runs.
        OwnerMarker.SweepOnce(root, string.Empty, NullLogger.Instance);

        string shortPrefix = prefix.Length > 24 ? prefix[^24..] : prefix;
        string path = Path.Combine(root, string.Create(CultureInfo.InvariantCulture, $"{shortPrefix}-{Environment.ProcessId}-{Path.GetRandomFileName()[..6]}"));
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
        }
        else
        {
            System.IO.Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        OwnerMarker.Write(path);
        return path;
    }

    /// <summary>Marks a detached machine's folder as kept (writes its <c>kept.json</c>) and returns what it records.</summary>
    /// <exception cref="IOException">The marker cannot be written.</exception>
    public static KeptVm Record(QemuDetachedMachine machine, string description, string? artifactsDirectory)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var kept = new KeptVm(
            machine.SocketDirectory,
            machine.Pid,
            ProcessStat.Read(machine.Pid)?.StartTime ?? 0,
            description,
            machine.ConsoleSocket,
            machine.QmpSocket,
            machine.GdbSocket,
            artifactsDirectory,
            DateTime.UtcNow);
        // The owner marker goes first: from here on the folder outlives its creator on purpose, and the sweep must not
        // take it even if the test host dies before kept.json is written.
        File.Delete(Path.Combine(machine.SocketDirectory, OwnerMarker.FileName));
        File.WriteAllText(Path.Combine(machine.SocketDirectory, MarkerFile), JsonSerializer.Serialize(kept, s_json));
        return kept;
    }

    /// <summary>The kept VMs under <paramref name="root"/> (default <see cref="Root"/>), running or not (a folder whose QEMU is gone is stale: remove it).</summary>
    public static IReadOnlyList<KeptVm> List(string? root = null)
    {
        root ??= Root;
        if (!System.IO.Directory.Exists(root))
        {
            return [];
        }

        var found = new List<KeptVm>();
        foreach (string directory in System.IO.Directory.EnumerateDirectories(root))
        {
            try
            {
                if (JsonSerializer.Deserialize<KeptVm>(File.ReadAllText(Path.Combine(directory, MarkerFile))) is { } kept)
                {
                    found.Add(kept with { Directory = directory });
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                // Not (yet) a kept VM: a folder being set up, or not ours.
            }
        }

        return found;
    }

    /// <summary>
    /// Stops a kept VM (SIGTERM, then SIGKILL after 10 s; only the process with the recorded start time, never a process
    /// that reuses its pid) and removes its folder.
    /// </summary>
    /// <exception cref="TimeoutException">QEMU did not exit within 30 s of SIGKILL.</exception>
    /// <exception cref="IOException">The folder cannot be removed.</exception>
    public static async Task RemoveAsync(KeptVm vm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.IsRunning)
        {
            _ = Libc.kill(vm.Pid, Libc.SIGTERM);
            if (!await ExitedAsync(vm, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false))
            {
                _ = Libc.kill(vm.Pid, Libc.SIGKILL);
                if (!await ExitedAsync(vm, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
                {
                    throw new TimeoutException($"The kept VM {vm.Pid} ({vm.Description}) did not exit within 30 s of SIGKILL.");
                }
            }
        }

        if (System.IO.Directory.Exists(vm.Directory))
        {
            System.IO.Directory.Delete(vm.Directory, recursive: true);
        }
    }

    private static async Task<bool> ExitedAsync(KeptVm vm, TimeSpan bound, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(bound);
        try
        {
            while (vm.IsRunning)
            {
                await Task.Delay(50, deadline.Token).ConfigureAwait(false);
            }

            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
