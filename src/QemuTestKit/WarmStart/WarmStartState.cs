using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QemuTestKit;

/// <summary>
/// One saved state in the cache: the folder <c>&lt;cache&gt;/&lt;key&gt;/</c> with the migration stream (<c>state</c>), for a
/// mapped state the guest's RAM (<c>ram</c>, sparse: pages the guest never wrote are holes), the saved disk layers (<c>disk&lt;n&gt;.qcow2</c>, one per writable drive) and <c>metadata.json</c> (key inputs, QEMU
/// version, creation time). The folder is written under a temporary name and renamed into place, so a folder that
/// exists is complete.
/// </summary>
/// <remarks>
/// Private to the user: folders 0700, files 0600. A state holds the guest's whole RAM, and whatever secrets a test put
/// into the guest before the save; nobody else on the host may read it, nor swap in a state of their own.
/// </remarks>
internal sealed class WarmStartState
{
    public const string StateFile = "state";
    public const string MetadataFile = "metadata.json";
    public const string RamFile = "ram";


    public const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public WarmStartState(string cacheDirectory, string key)
    {
        CacheDirectory = cacheDirectory;
        Key = key;
        Directory = Path.Combine(cacheDirectory, key);
    }

    public string CacheDirectory { get; }

    public string Key { get; }

    public string Directory { get; }

    public string StatePath => Path.Combine(Directory, StateFile);

    public string LockPath => Directory + ".lock";

    public string RamPath => Path.Combine(Directory, RamFile);

    public static string DiskName(int drive) => string.Create(CultureInfo.InvariantCulture, $"disk{drive}.qcow2");

    public string DiskPath(int drive) => Path.Combine(Directory, DiskName(drive));

    /// <summary>The build id in the metadata of the saved state, or null when there is none (or it is unreadable).</summary>
    public string? ReadBuildId()
    {
        try
        {
            string path = Path.Combine(Directory, MetadataFile);
            if (!File.Exists(path) || !File.Exists(StatePath))
            {
                return null;
            }

            return JsonNode.Parse(File.ReadAllText(path))?["buildId"]?.GetValue<string>();
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidOperationException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A fresh folder beside the final one, to write a new state into before <see cref="Publish"/>; call with the lock held.</summary>
    public string CreateBuildDirectory()
    {
        CreateCacheDirectory();

        // With the lock held nobody else builds this key: any build folder of it is left from a process that died.
        foreach (string stale in System.IO.Directory.EnumerateDirectories(CacheDirectory, $".build-{Key}-*"))
        {
            DeleteQuietly(stale);
        }

        string path = Path.Combine(CacheDirectory, $".build-{Key}-{Guid.NewGuid():N}");
        CreatePrivateDirectory(path);
        return path;
    }

    /// <summary>Creates the cache folder 0700, and takes group and other access away from one made before (by an older kit).</summary>
    public void CreateCacheDirectory()
    {
        CreatePrivateDirectory(CacheDirectory);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(CacheDirectory) & ~PrivateDirectoryMode) != 0)
        {
            File.SetUnixFileMode(CacheDirectory, File.GetUnixFileMode(CacheDirectory) & PrivateDirectoryMode);
        }
    }

    /// <summary>Creates (or truncates) a file readable and writable by this user only.</summary>
    public static void CreatePrivateFile(string path)
    {
        using var stream = new FileStream(path, PrivateFileOptions(FileMode.Create, FileAccess.Write, FileShare.Read));
    }

    /// <summary>Options that create a file 0600 (on Unix; Windows has no such mode bits).</summary>
    public static FileStreamOptions PrivateFileOptions(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFileMode;
        }

        return options;
    }

    /// <summary>Copies a file into the state, private (<see cref="File.Copy(string, string)"/> would keep the source's mode).</summary>
    public static void CopyPrivate(string source, string destination)
    {
        File.Copy(source, destination);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(destination, PrivateFileMode);
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
        }
        else
        {
            System.IO.Directory.CreateDirectory(path, PrivateDirectoryMode);
        }
    }

    public static void WriteMetadata(string buildDirectory, WarmStartKey key, string buildId, long stateBytes, long ramBytes, TimeSpan saveTime)
    {
        var metadata = new JsonObject
        {
            ["buildId"] = buildId,
            ["key"] = key.Hash,
            ["created"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["qemuVersion"] = key.QemuVersion,
            ["memory"] = key.Memory.Mapped ? "mapped" : "stream",
            ["stateBytes"] = stateBytes,
            ["ramBytesWritten"] = ramBytes,
            ["saveSeconds"] = Math.Round(saveTime.TotalSeconds, 3),
            ["inputs"] = key.Inputs.DeepClone(),
        };
        string path = Path.Combine(buildDirectory, MetadataFile);
        CreatePrivateFile(path);
        File.WriteAllText(path, metadata.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Moves a finished build folder into place (an atomic rename); call with the lock held.</summary>
    public void Publish(string buildDirectory)
    {
        Delete();
        System.IO.Directory.Move(buildDirectory, Directory);
    }

    /// <summary>Removes the saved state (call with the lock held).</summary>
    public void Delete()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            // Renamed first so that no reader ever sees a half-deleted folder as a complete state.
            string doomed = Path.Combine(CacheDirectory, $".delete-{Key}-{Guid.NewGuid():N}");
            System.IO.Directory.Move(Directory, doomed);
            System.IO.Directory.Delete(doomed, recursive: true);
        }
    }

    public static void DeleteQuietly(string directory)
    {
        try
        {
            if (System.IO.Directory.Exists(directory))
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover build folder is ignored by every reader and holds no lock.
        }
    }
}
