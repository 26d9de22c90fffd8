namespace QemuTestKit;

/// <summary>
/// The most recent console text, bounded: positions are absolute (characters since the console connected), and text older
/// than <see cref="MaxLength"/> characters behind the end is dropped. Not thread-safe; <see cref="QemuConsole"/> uses it
/// under its lock.
/// </summary>
/// <remarks>
/// A ring that stores every character twice, at its position modulo <see cref="MaxLength"/> and <see cref="MaxLength"/>
/// further on, so any run of up to <see cref="MaxLength"/> kept characters is one contiguous span (what the regular
/// expressions need) and old text is dropped by being overwritten, never moved. The second copy is written right after
/// the first, from memory the read loop has just decoded into; a buffer that shifted its kept text down instead copied
/// <see cref="MaxLength"/> characters of cold memory every <see cref="MaxLength"/> characters received (measured: the
/// largest cost of a console flood after the socket itself).
/// </remarks>
internal sealed class ConsoleWindow
{
    private readonly char[] _buffer;
    private long _end;
    private int _reserved;

    /// <summary>Creates a window that keeps the last <paramref name="maxLength"/> characters.</summary>
    public ConsoleWindow(int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        MaxLength = maxLength;
        _buffer = new char[checked(maxLength * 2)];
    }

    /// <summary>How many of the most recent characters the window keeps.</summary>
    public int MaxLength { get; }

    /// <summary>The absolute position of the first character still kept.</summary>
    public long Start => Math.Max(0, _end - MaxLength);

    /// <summary>The absolute position just past the last character received.</summary>
    public long End => _end;

    /// <summary>
    /// Returns room for up to <paramref name="count"/> characters at the end (at most <see cref="MaxLength"/>);
    /// <see cref="Commit"/> says how much of it was filled, and only then is the oldest text it overwrites dropped. Lets the
    /// read loop decode straight into the window.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is above <see cref="MaxLength"/>: split the input so every piece is scanned.</exception>
    public Span<char> Reserve(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxLength);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _reserved = count;

        // Index(_end) + count <= 2 * MaxLength - 1: the room always fits; the part past MaxLength is the second copy of the
        // ring's first slots, which Commit mirrors back.
        return _buffer.AsSpan(Index(_end), count);
    }

    /// <summary>Adds the first <paramref name="count"/> characters of the last <see cref="Reserve"/>d room to the text.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is more than the room reserved.</exception>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _reserved);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int at = Index(_end);
        int first = Math.Min(count, MaxLength - at);
        _buffer.AsSpan(at, first).CopyTo(_buffer.AsSpan(at + MaxLength));
        _buffer.AsSpan(MaxLength, count - first).CopyTo(_buffer);
        _end += count;
        _reserved = 0;
    }

    /// <summary>The kept text from <paramref name="from"/> (clamped to <see cref="Start"/>) to the end.</summary>
    public ReadOnlySpan<char> From(long from) => Slice(from, _end);

    /// <summary>The kept text from <paramref name="from"/> to <paramref name="to"/>, both clamped to the window.</summary>
    public ReadOnlySpan<char> Slice(long from, long to)
    {
        long start = Math.Max(from, Start);
        long end = Math.Min(to, _end);
        return start >= end ? [] : _buffer.AsSpan(Index(start), (int)(end - start));
    }

    private int Index(long position) => (int)(position % MaxLength);
}
