using System.Text;
using Microsoft.Extensions.Logging;
using QemuTestKit.Internal;

namespace QemuTestKit;

/// <summary>
/// Where a machine's files go: the private temp folder (created on first use), the socket folder and its path policy
/// (a unix socket path has a 107-byte limit, so a short private folder under <c>/tmp</c> is used when the default would
/// be too long), the log folder, and their removal. Every folder created here carries an <see cref="OwnerMarker"/>.
/// </summary>
internal sealed class MachineDirectories(string name, string? baseTempDir, string? sockDir, string? logDir, ILogger logger)
{
    private const string TempPrefix = "qemu-machine-";
    private const string ShortSocketParent = "/tmp";
    private const string ShortSocketPrefix = "qtk-";

    private string? _tempDir;
    private string? _shortSockDir;

    /// <summary>The private temp folder, created (0700, marked) on first use.</summary>
    public string TempDir => _tempDir ??= CreateOwnedDirectory(TempParent, TempPrefix);

    /// <summary>The configured socket folder, else the short one if it was needed, else the temp folder.</summary>
    public string SockDir => sockDir ?? _shortSockDir ?? TempDir;

    /// <summary>Whether the socket folder was configured (the machine never removes it).</summary>
    public bool SockDirConfigured => sockDir is not null;

    /// <summary>The configured log folder, else the temp folder.</summary>
    public string LogDir => logDir ?? TempDir;

    /// <summary>Points <see cref="LogDir"/> at <paramref name="dir"/> (a warm-start spare taken by a caller with its own log folder).</summary>
    public void UseLogDir(string dir) => logDir = dir;

    private string TempParent => baseTempDir ?? Path.GetTempPath();

    /// <summary>Removes what dead processes left where this machine creates folders (once per process and folder).</summary>
    public void SweepLeftovers()
    {
        OwnerMarker.SweepOnce(TempParent, TempPrefix, logger);
        OwnerMarker.SweepOnce(ShortSocketParent, ShortSocketPrefix, logger);
    }

    /// <summary>The socket path for <paramref name="kind"/>, moving to a short private folder if the default one is too long.</summary>
    /// <exception cref="QemuMachineException">The path is too long and cannot be shortened (a configured folder, or a long name).</exception>
    public string SocketPath(string kind)
    {
        string path = Path.Combine(SockDir, $"{name}-{kind}.sock");
        if (QemuOptionValue.FitsUnixSocketPath(path) || sockDir is not null || _shortSockDir is not null)
        {
            CheckSocketPath(path, explicitlyConfigured: sockDir is not null);
            return path;
        }

        _shortSockDir = CreateOwnedDirectory(ShortSocketParent, ShortSocketPrefix);
        string shorter = Path.Combine(_shortSockDir, $"{name}-{kind}.sock");
        MachineLog.ShortSocketDirectory(logger, name, path, _shortSockDir);
        CheckSocketPath(shorter, explicitlyConfigured: false);
        return shorter;
    }

    /// <summary>Throws when <paramref name="path"/> exceeds the unix socket path limit, naming the setting to change.</summary>
    /// <exception cref="QemuMachineException">The path is too long.</exception>
    public static void CheckSocketPath(string path, bool explicitlyConfigured)
    {
        if (!QemuOptionValue.FitsUnixSocketPath(path))
        {
            throw new QemuMachineException(
                $"The unix socket path '{path}' is {Encoding.UTF8.GetByteCount(path)} bytes; the limit is {QemuOptionValue.MaxUnixSocketPathBytes}. "
                + (explicitlyConfigured
                    ? "Choose a shorter SockDir or MonitorAddress (QemuMachineOptions)."
                    : "Choose a shorter machine Name (QemuMachineOptions.Name)."));
        }
    }

    /// <summary>Removes the folders created here (the next use creates new ones).</summary>
    public void Remove()
    {
        // Each folder is forgotten before it is deleted, so a failed delete is not retried forever, and both are tried.
        string? temp = _tempDir;
        string? shortSock = _shortSockDir;
        _tempDir = null;
        _shortSockDir = null;
        Exception? first = null;
        foreach (string? directory in (string?[])[temp, shortSock])
        {
            try
            {
                if (directory is not null && Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                first ??= ex;
            }
        }

        if (first is not null)
        {
            throw new IOException($"Cannot remove the folders of VM {name}: {first.Message}", first);
        }
    }

    private static unsafe string CreateOwnedDirectory(string parent, string prefix)
    {
        Directory.CreateDirectory(parent);
        byte[] template = Encoding.UTF8.GetBytes(Path.Combine(Path.GetFullPath(parent), prefix + "XXXXXX") + "\0");
        fixed (byte* p = template)
        {
            // mkdtemp: a fresh name and mode 0700 in one atomic step, like Python's tempfile.mkdtemp.
            if (Libc.mkdtemp(p) is null)
            {
                throw new IOException($"Cannot create a private directory under '{parent}': {System.Runtime.InteropServices.Marshal.GetLastPInvokeErrorMessage()}");
            }
        }

        string directory = Encoding.UTF8.GetString(template, 0, template.Length - 1);
        OwnerMarker.Write(directory);
        return directory;
    }
}
