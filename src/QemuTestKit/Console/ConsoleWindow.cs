namespace QemuTestKit;

/// <summary>
/// The most recent console text, bounded: positions are absolute (characters since the console connected), and text older
/// than <see cref="MaxLength"/> characters behind the end is dropped. Not thread-safe; <see cref="QemuConsole"/> uses it
/// under its lock.
/// </summary>
/// <remarks>
/// The buffer holds up to twice <see cref="MaxLength"/>, so trimming moves the kept half once per <see cref="MaxLength"/>
/// characters appended: each character is copied a bounded number of times however long the console runs.
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

    /// <summary>Appends <paramref name="chunk"/> (at most <see cref="MaxLength"/> characters), dropping the oldest text beyond the window.</summary>
    /// <exception cref="ArgumentException"><paramref name="chunk"/> is longer than <see cref="MaxLength"/>: split it so every piece is scanned.</exception>
    public void Append(ReadOnlySpan<char> chunk)
    {
        if (chunk.Length > MaxLength)
        {
            throw new ArgumentException($"A chunk of {chunk.Length} characters is longer than the window ({MaxLength}).", nameof(chunk));
        }

        if (_length + chunk.Length > _buffer.Length)
        {
            // Keep the last MaxLength - chunk.Length characters, so after the append the buffer holds exactly the window;
            // never start the kept text on the low half of a surrogate pair.
            int keep = MaxLength - chunk.Length;
            int drop = _length - keep;
            if (drop < _length && char.IsLowSurrogate(_buffer[drop]))
            {
                drop++;
            }

            _buffer.AsSpan(drop, _length - drop).CopyTo(_buffer);
            _length -= drop;
            _bufferStart += drop;
        }

        chunk.CopyTo(_buffer.AsSpan(_length));
        _length += chunk.Length;
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
