namespace QemuTestKit.Internal;

/// <summary>The growable receive buffer of the line-based protocol clients (QMP, the guest agent).</summary>
internal static class ReadBuffer
{
    /// <summary>
    /// Once every received byte is consumed (<paramref name="start"/> reached <paramref name="end"/>), starts again at
    /// the front, and gives back a buffer that grew past four times <paramref name="initialBytes"/> for one large message:
    /// it is not kept for the many small ones that follow.
    /// </summary>
    public static void ResetIfConsumed(ref byte[] buffer, ref int start, ref int end, ref int scanned, int initialBytes)
    {
        if (start != end)
        {
            return;
        }

        start = end = scanned = 0;
        if (buffer.Length > 4 * initialBytes)
        {
            buffer = new byte[initialBytes];
        }
    }

    /// <summary>
    /// Makes at least <paramref name="minFree"/> bytes free after <paramref name="end"/>: moves the unconsumed bytes
    /// from <paramref name="start"/> to the front, growing (doubling) the buffer when they would not leave enough room.
    /// <paramref name="scanned"/> (how far a delimiter search got) moves with them.
    /// </summary>
    public static void MakeRoom(ref byte[] buffer, ref int start, ref int end, ref int scanned, int minFree)
    {
        if (buffer.Length - end >= minFree)
        {
            return;
        }

        int kept = end - start;
        byte[] target = kept + minFree <= buffer.Length ? buffer : new byte[Math.Max(buffer.Length * 2, kept + minFree)];
        Buffer.BlockCopy(buffer, start, target, 0, kept);
        buffer = target;
        scanned -= start;
        start = 0;
        end = kept;
    }
}
