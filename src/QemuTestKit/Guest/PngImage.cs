using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace QemuTestKit.Guest;

/// <summary>
/// Screenshots: QEMU's binary PPM (<c>P6</c>, what every QEMU writes correctly; 7.2's own PNG swaps red and blue) read
/// into RGB rows and written as an 8-bit RGB PNG, with zlib from the BCL and the PNG CRC-32 computed here.
/// </summary>
internal static class PngImage
{
    private static readonly byte[] s_signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly uint[] s_crcTable = CreateCrcTable();

    /// <summary>Converts a binary PPM file (maximum value 255) to a PNG file.</summary>
    /// <exception cref="InvalidDataException">The file is not such a PPM.</exception>
    public static void ConvertPpm(string ppmPath, string pngPath)
    {
        byte[] ppm = File.ReadAllBytes(ppmPath);
        (int width, int height, int offset) = ReadPpmHeader(ppm, ppmPath);
        using var png = new FileStream(pngPath, FileMode.Create, FileAccess.Write);
        Write(png, width, height, ppm.AsSpan(offset, width * height * 3));
    }

    /// <summary>Writes an RGB image (rows top to bottom, 3 bytes a pixel) as a PNG.</summary>
    public static void Write(Stream output, int width, int height, ReadOnlySpan<byte> rgb)
    {
        output.Write(s_signature);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bits per channel
        header[9] = 2; // colour type: RGB
        WriteChunk(output, "IHDR", header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            int stride = width * 3;
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0); // filter: none
                zlib.Write(rgb.Slice(y * stride, stride));
            }
        }

        WriteChunk(output, "IDAT", compressed.ToArray());
        WriteChunk(output, "IEND", []);
    }

    /// <summary>The PNG (and zlib/gzip) CRC-32 of <paramref name="data"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFF;
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        output.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        output.Write(word);
    }

    /// <summary>"P6", width, height, 255, each separated by whitespace (comments allowed), then one whitespace byte.</summary>
    private static (int Width, int Height, int Offset) ReadPpmHeader(byte[] ppm, string path)
    {
        int position = 0;
        string[] fields = new string[4];
        for (int i = 0; i < 4; i++)
        {
            while (position < ppm.Length && (char.IsWhiteSpace((char)ppm[position]) || ppm[position] == '#'))
            {
                if (ppm[position] == '#')
                {
                    while (position < ppm.Length && ppm[position] != '\n')
                    {
                        position++;
                    }
                }
                else
                {
                    position++;
                }
            }

            int start = position;
            while (position < ppm.Length && !char.IsWhiteSpace((char)ppm[position]))
            {
                position++;
            }

            fields[i] = Encoding.ASCII.GetString(ppm, start, position - start);
        }

        position++; // the single whitespace byte before the pixels
        if (fields[0] != "P6"
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out int height)
            || fields[3] != "255"
            || width <= 0 || height <= 0
            || ppm.Length - position < (long)width * height * 3)
        {
            throw new InvalidDataException($"'{path}' is not the binary PPM QEMU's screendump writes (header '{string.Join(' ', fields)}', {ppm.Length} bytes).");
        }

        return (width, height, position);
    }

    private static uint[] CreateCrcTable()
    {
        uint[] table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
