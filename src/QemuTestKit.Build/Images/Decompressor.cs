using System.IO.Compression;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;
using SharpCompress.Compressors.ZStandard;

namespace QemuTestKit.Build.Images;

/// <summary>Opens a decompressing view of a stream: gzip from the BCL, xz, bzip2 and zstd from SharpCompress.</summary>
internal static class Decompressor
{
    public static Stream Open(Stream compressed, Compression compression) => compression switch
    {
        Compression.Gzip => new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: false),
        Compression.Xz => new XZStream(compressed),
        Compression.Bzip2 => BZip2Stream.Create(compressed, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: false),
        Compression.Zstd => new DecompressionStream(compressed),
        _ => compressed,
    };
}
