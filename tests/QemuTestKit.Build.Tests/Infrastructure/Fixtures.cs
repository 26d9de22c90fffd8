using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.ZStandard;

namespace QemuTestKit.Build.Tests.Infrastructure;

/// <summary>Test payloads and their compressed forms.</summary>
internal static class Fixtures
{
    /// <summary>"QemuTestKit unpack test payload\n" × 100.</summary>
    public static readonly byte[] Payload = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("QemuTestKit unpack test payload\n", 100)));

    public const string PayloadSha256 = "50773f601802589cf01a24a07bc95441380a0b36416a88296aa7cbbf5ec21a6c";

    /// <summary>Made with `xz -9` (SharpCompress reads xz but cannot write it).</summary>
    public static readonly byte[] PayloadXz = Convert.FromBase64String(
        "/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4Ax/ADddACiZSaeH6ZV61Fw/nl4xuVyU41LrtcT0xjCIyE9Wm8cgT+X55iKkiJ71/3/5yu0P1e0PYKfYuwAAAIVE9HBHrDe+AAFTgBkAAAADBrjVscRn+wIAAAAABFla");

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public static string Sha256OfFile(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    public static byte[] Compress(string extension, byte[] content)
    {
        if (extension == ".xz")
        {
            Assert.Equal(Payload, content);
            return PayloadXz;
        }

        using var output = new MemoryStream();
        using (Stream compressor = extension switch
        {
            ".gz" => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
            ".bz2" => BZip2Stream.Create(output, SharpCompress.Compressors.CompressionMode.Compress, decompressConcatenated: false, leaveOpen: true),
            ".zst" => new CompressionStream(output, level: 3, leaveOpen: true),
            _ => throw new ArgumentOutOfRangeException(nameof(extension), extension, "unknown compression"),
        })
        {
            compressor.Write(content);
        }

        return output.ToArray();
    }
}
