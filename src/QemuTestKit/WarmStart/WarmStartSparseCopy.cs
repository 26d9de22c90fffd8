using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace QemuTestKit;

/// <summary>
/// Copies a guest's RAM file into a state, private and sparse. The file is as large as the guest's RAM but holds
/// mostly holes (pages the guest never wrote): <c>lseek(SEEK_DATA/SEEK_HOLE)</c> finds the written extents, so a 1 GB
/// guest costs what it wrote, in copy time and on disk; within them, blocks of zeros stay holes too. Where the file
/// system cannot say (the call fails), the whole file is read and only the zero blocks are skipped.
/// </summary>
internal static partial class WarmStartSparseCopy
{
    /// <summary>Runs of zeros this long or longer become holes in the copy.</summary>
    private const int Block = 64 * 1024;

    private const int SeekData = 3;
    private const int SeekHole = 4;

    /// <summary>lseek's answer when no data follows the offset.</summary>
    private const int NoDataAfter = 6; // ENXIO

    /// <summary>Copies <paramref name="source"/> to a new file 0600 at <paramref name="destination"/>.</summary>
    /// <returns>The bytes written (the copy's apparent size is the source's).</returns>
    /// <exception cref="IOException">Reading or writing failed, or <paramref name="destination"/> exists.</exception>
    public static long Copy(string source, string destination)
    {
        using SafeFileHandle input = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var output = new FileStream(destination, WarmStartState.PrivateFileOptions(FileMode.CreateNew, FileAccess.Write, FileShare.None));
        long length = RandomAccess.GetLength(input);
        byte[] buffer = new byte[Block * 16];
        long written = 0;
        for (long position = 0; position < length;)
        {
            (long start, long end) = NextData(input, position, length);
            for (long offset = start; offset < end;)
            {
                int read = RandomAccess.Read(input, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
                if (read == 0)
                {
                    break;
                }

                for (int i = 0; i < read; i += Block)
                {
                    ReadOnlySpan<byte> block = buffer.AsSpan(i, Math.Min(Block, read - i));
                    if (block.ContainsAnyExcept((byte)0))
                    {
                        RandomAccess.Write(output.SafeFileHandle, block, offset + i);
                        written += block.Length;
                    }
                }

                offset += read;
            }

            position = end;
        }

        // Holes are not written: the length says where the file ends.
        output.SetLength(length);
        return written;
    }

    /// <summary>The next written extent at or after <paramref name="from"/>: [start, end); (length, length) when none.</summary>
    private static (long Start, long End) NextData(SafeFileHandle file, long from, long length)
    {
        if (OperatingSystem.IsWindows())
        {
            return (from, length);
        }

        long data = Lseek(file, from, SeekData);
        if (data < 0)
        {
            return Marshal.GetLastPInvokeError() == NoDataAfter ? (length, length) : (from, length);
        }

        long hole = Lseek(file, data, SeekHole);
        return (data, hole < 0 ? length : Math.Min(hole, length));
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(SafeFileHandle file, long offset, int whence);
}
