namespace QemuTestKit.Build.Internal;

/// <summary>What <see cref="ResolveQemuBinary"/> remembers: a binary is unchanged while its size and time stamp are.</summary>
internal sealed record BinaryCacheEntry(string Path, long Length, long LastWriteTicks, string Version)
{
    public static BinaryCacheEntry For(string path, string version)
    {
        var info = new FileInfo(path);
        return new BinaryCacheEntry(path, info.Length, info.LastWriteTimeUtc.Ticks, version);
    }
}
