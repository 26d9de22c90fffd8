using System.Formats.Tar;
using System.IO.Pipelines;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace QemuTestKit.Containers;

/// <summary>
/// Copies the host folders and files QEMU needs into a created container at the same paths, as one tar streamed
/// through the Docker API (nothing is held in memory whole). Only regular files and folders go: the machine's own
/// sockets in those folders mean nothing in the container.
/// </summary>
internal static class ContainerFileCopy
{
    public static async Task CopyAsync(IDockerClient client, string containerId, IReadOnlyList<string> folders, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        var pipe = new Pipe();
        Task writing = WriteTarAsync(pipe.Writer, folders, files, cancellationToken);
        Stream tar = pipe.Reader.AsStream();
        await using (tar.ConfigureAwait(false))
        {
            try
            {
                await client.Containers.ExtractArchiveToContainerAsync(containerId, new CopyToContainerParameters { Path = "/" }, tar, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // A failed upload stops reading: the writer must not wait for a reader that is gone.
                await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            }
        }

        await writing.ConfigureAwait(false);
    }

    private static async Task WriteTarAsync(PipeWriter writer, IReadOnlyList<string> folders, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            Stream output = writer.AsStream(leaveOpen: true);
            await using (output.ConfigureAwait(false))
            {
                var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
                await using (tar.ConfigureAwait(false))
                {
                    var written = new HashSet<string>(StringComparer.Ordinal);
                    foreach (string folder in folders)
                    {
                        await AddFolderAsync(tar, folder, written, cancellationToken).ConfigureAwait(false);
                    }

                    foreach (string file in files)
                    {
                        await AddParentsAsync(tar, Path.GetDirectoryName(file)!, written, cancellationToken).ConfigureAwait(false);
                        await AddFileAsync(tar, file, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or OperationCanceledException)
        {
            // InvalidOperationException: the reader completed (the upload failed); its error is the one to report.
            failure = ex;
        }

        await writer.CompleteAsync(failure).ConfigureAwait(false);
    }

    private static async Task AddFolderAsync(TarWriter tar, string folder, HashSet<string> written, CancellationToken cancellationToken)
    {
        await AddParentsAsync(tar, folder, written, cancellationToken).ConfigureAwait(false);
        foreach (FileSystemInfo entry in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            if (entry is DirectoryInfo && entry.LinkTarget is null)
            {
                await AddParentsAsync(tar, entry.FullName, written, cancellationToken).ConfigureAwait(false);
            }
            else if (entry is FileInfo file)
            {
                await AddFileAsync(tar, file.FullName, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Adds one file (a symbolic link stays a link). A socket is skipped: the tar writer refuses it before writing a
    /// byte (the machine's QMP socket lives in the folders copied; in the container the supervisor makes its own).
    /// </summary>
    private static async Task AddFileAsync(TarWriter tar, string path, CancellationToken cancellationToken)
    {
        try
        {
            await tar.WriteEntryAsync(path, EntryName(path), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException) when (!File.Exists(path) || new FileInfo(path).Length == 0 && !IsReadable(path))
        {
            // Gone meanwhile, or a socket: nothing QEMU reads.
        }
    }

    private static bool IsReadable(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Folder entries for <paramref name="folder"/> and its parents, so they exist with the host's modes.</summary>
    private static async Task AddParentsAsync(TarWriter tar, string folder, HashSet<string> written, CancellationToken cancellationToken)
    {
        var chain = new Stack<string>();
        for (string? f = folder; !string.IsNullOrEmpty(f) && f != "/"; f = Path.GetDirectoryName(f))
        {
            chain.Push(f);
        }

        foreach (string f in chain)
        {
            if (written.Add(f))
            {
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, EntryName(f) + "/") { Mode = OperatingSystem.IsWindows() ? (UnixFileMode)0b111_101_101 : File.GetUnixFileMode(f) }, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string EntryName(string path) => path.TrimStart('/');
}
