namespace QemuTestKit.Build.Images;

/// <summary>The compressed formats a staged image may arrive in, known by the file's extension.</summary>
internal enum Compression
{
    None,
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}
