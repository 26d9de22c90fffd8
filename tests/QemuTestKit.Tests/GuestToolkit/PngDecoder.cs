using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// A PNG reader for the tests, written from the PNG specification independently of the kit's writer: it checks the
/// signature and every chunk's CRC (bit by bit, no table) and undoes all five row filters. 8-bit RGB only.
/// </summary>
internal sealed class PngDecoder
{
    private PngDecoder(int width, int height, byte[] rgb)
    {
        Width = width;
        Height = height;
        Rgb = rgb;
    }

    public int Width { get; }

    public int Height { get; }

    public byte[] Rgb { get; }

    public (byte R, byte G, byte B) Pixel(int x, int y)
    {
        int i = ((y * Width) + x) * 3;
        return (Rgb[i], Rgb[i + 1], Rgb[i + 2]);
    }

    public static PngDecoder Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, file[..8]);
        int position = 8;
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        while (position < file.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(position));
            string type = Encoding.ASCII.GetString(file, position + 4, 4);
            ReadOnlySpan<byte> typeAndData = file.AsSpan(position + 4, 4 + length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(position + 8 + length));
            Assert.True(crc == Crc32(typeAndData), $"bad CRC in chunk {type}");
            ReadOnlySpan<byte> data = typeAndData[4..];
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(8, data[8]);
                Assert.Equal(2, data[9]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            position += 12 + length;
            if (type == "IEND")
            {
                break;
            }
        }

        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        int stride = width * 3;
        byte[] rgb = new byte[stride * height];
        byte[] row = new byte[stride + 1];
        for (int y = 0; y < height; y++)
        {
            zlib.ReadExactly(row);
            for (int x = 0; x < stride; x++)
            {
                int a = x >= 3 ? rgb[(y * stride) + x - 3] : 0;
                int b = y > 0 ? rgb[((y - 1) * stride) + x] : 0;
                int c = x >= 3 && y > 0 ? rgb[((y - 1) * stride) + x - 3] : 0;
                int predictor = row[0] switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {row[0]}"),
                };
                rgb[(y * stride) + x] = (byte)(row[x + 1] + predictor);
            }
        }

        return new PngDecoder(width, height, rgb);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte value in data)
        {
            crc ^= value;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
