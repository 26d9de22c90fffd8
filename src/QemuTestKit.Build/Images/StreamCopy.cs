using System.Security.Cryptography;

namespace QemuTestKit.Build.Images;

/// <summary>Copies a stream while hashing it and reporting progress: one pass over each byte.</summary>
internal static class StreamCopy
{
    private const int BufferSize = 1024 * 1024;

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> (if any) and returns the SHA-256 of what was read.</summary>
    public static async Task<string> CopyAndHashAsync(Stream source, Stream? destination, ProgressReporter? progress, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[BufferSize];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            if (destination is not null)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            progress?.Advance(read);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static async Task<string> HashFileAsync(string path, Func<long, ProgressReporter?> progress, CancellationToken cancellationToken)
    {
        FileStream stream = OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            return await CopyAndHashAsync(stream, null, progress(stream.Length), cancellationToken).ConfigureAwait(false);
        }
    }

    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);

    public static FileStream Create(string path) =>
        new(path, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
}
