namespace QemuTestKit;

/// <summary>
/// The most recent console text, bounded: positions are absolute (characters since the console connected), and text older
/// than <see cref="MaxLength"/> characters behind the end is dropped. Not thread-safe; <see cref="QemuConsole"/> uses it
/// under its lock.
/// </summary>
/// <remarks>
/// A ring of <see cref="MaxLength"/> characters (each at its position modulo <see cref="MaxLength"/>), followed by room for
/// a second copy of its first slots, so any run of up to <see cref="MaxLength"/> kept characters is one contiguous span
/// (what the regular expressions need) and old text is dropped by being overwritten, never moved. The second copy is made
/// only when a slice that runs past the ring's end asks for it, and each slot at most once per lap: a flood that nobody
/// scans costs the decode into the ring and nothing more. A buffer that shifted its kept text down instead copied
/// <see cref="MaxLength"/> characters of cold memory every <see cref="MaxLength"/> characters received (measured: the
/// largest cost of a console flood after the socket itself).
/// </remarks>
internal sealed class ConsoleWindow
{
    private readonly char[] _buffer;
    private long _end;
    private int _reserved;

    // The second copy is current for the ring's slots [0, _mirrored): _buffer[MaxLength + i] == _buffer[i] for i below it.
    private int _mirrored;

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

        // Index(_end) + count <= 2 * MaxLength - 1: the room always fits; a part past MaxLength is written where the second
        // copy of the ring's first slots lives, and Commit copies it down into the ring.
        return _buffer.AsSpan(Index(_end), count);
    }

    /// <summary>Adds the first <paramref name="count"/> characters of the last <see cref="Reserve"/>d room to the text.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is more than the room reserved.</exception>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _reserved);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int at = Index(_end);
        int wrapped = count - Math.Min(count, MaxLength - at);
        _mirrored = Math.Min(_mirrored, at);
        if (wrapped > 0)
        {
            // A new lap: what was written past the ring is its first slots' text, and already their second copy.
            _buffer.AsSpan(MaxLength, wrapped).CopyTo(_buffer);
            _mirrored = wrapped;
        }

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
        if (start >= end)
        {
            return [];
        }

        int at = Index(start);
        int length = (int)(end - start);

        // A slice past the ring's end reads the second copy of the first slots (this lap's newest text): bring it up to date.
        int past = at + length - MaxLength;
        if (past > _mirrored)
        {
            _buffer.AsSpan(_mirrored, past - _mirrored).CopyTo(_buffer.AsSpan(MaxLength + _mirrored));
            _mirrored = past;
        }

        return _buffer.AsSpan(at, length);
    }

    private int Index(long position) => (int)(position % MaxLength);
}
