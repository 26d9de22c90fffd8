namespace QemuTestKit;

/// <summary>
/// The most recent console text, bounded: positions are absolute (characters since the console connected), and text older
/// than <see cref="MaxLength"/> characters behind the end is dropped. Not thread-safe; <see cref="QemuConsole"/> uses it
/// under its lock.
/// </summary>
/// <remarks>
/// The buffer holds up to twice <see cref="MaxLength"/>, so trimming moves the kept window at most once per
/// <see cref="MaxLength"/> characters appended: each character is copied a bounded number of times however long the console runs.
/// </remarks>
internal sealed class ConsoleWindow
{
    private readonly char[] _buffer;
    private int _length;
    private long _bufferStart;

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
    public long Start => Math.Max(_bufferStart, End - MaxLength);

    /// <summary>The absolute position just past the last character received.</summary>
    public long End => _bufferStart + _length;

    /// <summary>
    /// Makes room for up to <paramref name="count"/> characters at the end (at most <see cref="MaxLength"/>), dropping the
    /// oldest text beyond the window, and returns that room; <see cref="Commit"/> says how much of it was filled. Lets the
    /// read loop decode straight into the window.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is above <see cref="MaxLength"/>: split the input so every piece is scanned.</exception>
    public Span<char> Reserve(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxLength);
        if (_length + count > _buffer.Length)
        {
            // Keep the window's worth of text, so the next shift is at least MaxLength characters away; never start the
            // kept text on the low half of a surrogate pair.
            int drop = _length - Math.Min(_length, MaxLength);
            if (drop < _length && char.IsLowSurrogate(_buffer[drop]))
            {
                drop++;
            }

            _buffer.AsSpan(drop, _length - drop).CopyTo(_buffer);
            _length -= drop;
            _bufferStart += drop;
        }

        return _buffer.AsSpan(_length, count);
    }

    /// <summary>Adds the first <paramref name="count"/> characters of the last <see cref="Reserve"/>d room to the text.</summary>
    public void Commit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _length);
        _length += count;
    }

    /// <summary>Appends <paramref name="chunk"/> (at most <see cref="MaxLength"/> characters).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunk"/> is longer than <see cref="MaxLength"/>.</exception>
    public void Append(ReadOnlySpan<char> chunk)
    {
        chunk.CopyTo(Reserve(chunk.Length));
        Commit(chunk.Length);
    }

    /// <summary>The kept text from <paramref name="from"/> (clamped to <see cref="Start"/>) to the end.</summary>
    public ReadOnlySpan<char> From(long from)
    {
        long start = Math.Max(from, Start);
        return start >= End ? [] : _buffer.AsSpan((int)(start - _bufferStart), (int)(End - start));
    }

    /// <summary>The kept text from <paramref name="from"/> to <paramref name="to"/>, both clamped to the window.</summary>
    public ReadOnlySpan<char> Slice(long from, long to)
    {
        long start = Math.Max(from, Start);
        long end = Math.Min(to, End);
        return start >= end ? [] : _buffer.AsSpan((int)(start - _bufferStart), (int)(end - start));
    }
}
