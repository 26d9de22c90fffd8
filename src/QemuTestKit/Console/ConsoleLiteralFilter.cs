using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace QemuTestKit;

/// <summary>
/// Decides, for each read, whether the pending waits' literal texts need to be looked for in it (the patterns of
/// <see cref="QemuConsole.WaitForAsync(string, IEnumerable{string}?, TimeSpan?, CancellationToken)"/> and failure patterns
/// such as <c>Kernel panic</c>): a read that completes none of those texts cannot complete or fail a wait through them. The
/// patterns that are not literal are not its business: the console runs those on every read. Up to
/// <see cref="MaxByteSearches"/> distinct texts are searched in the received bytes, before they are decoded, all in one
/// vectorised pass for one anchor byte of each (its rarest in console output), every place found checked against the whole
/// text; more are searched together in the decoded text with one multi-string pass. Either way each new byte is
/// examined a bounded number of times whatever the number of waits and failure patterns, and the literal patterns' regular
/// expressions run only on a read that holds one of the texts.
/// </summary>
/// <remarks>
/// Exact, not a heuristic: a text that appears in the decoded output appears as its UTF-8 bytes in the stream (texts with
/// U+FFFD or surrogates, which undecodable input or a split pair can produce, are not filtered), and the last bytes of the
/// previous read are kept so that a text split across reads is found. Not thread-safe: the console calls it under its lock.
/// </remarks>
internal sealed class ConsoleLiteralFilter
{
    /// <summary>How many distinct texts are searched in the bytes (one anchor byte each); beyond that, one combined search in the text.</summary>
    public const int MaxByteSearches = 4;

    /// <summary>How many anchor places one read may check before the filter searches each text in it instead.</summary>
    public const int MaxAnchorCandidates = 64;

    /// <summary>The longest text (in UTF-8 bytes) the filter handles; a longer one makes every read a possible match while it is awaited.</summary>
    public const int MaxTextBytes = 256;

    private readonly byte[] _joint = new byte[2 * (MaxTextBytes - 1)];
    private readonly byte[] _carry = new byte[MaxTextBytes - 1];
    private int _carryLength;
    private byte[][]? _byteTexts;

    // One anchor byte per byte-searched text (its rarest byte in console output) and where it sits in the text: one
    // vectorised pass over a read finds every place any of the texts could be, and each place is checked whole.
    private SearchValues<byte>? _anchors;
    private byte[] _anchorOf = [];
    private int[] _anchorAt = [];
    private SearchValues<string>? _charTexts;
    private bool _matchAll;
    private int _longestChars;

    /// <summary>Whether the waits changed since the last <see cref="Rebuild"/>.</summary>
    public bool Stale { get; private set; } = true;

    /// <summary>How many characters before new text a literal split across two reads can start (the longest text less one).</summary>
    public int LookBack => Math.Max(0, _longestChars - 1);

    /// <summary>The set of pending waits changed: <see cref="Rebuild"/> before the next use.</summary>
    public void Invalidate() => Stale = true;

    /// <summary>
    /// Rebuilds the searches from the waits' texts. A null in <paramref name="literals"/> (a pattern that is not literal) is
    /// left out; a text the filter cannot search exactly (too long, or with U+FFFD or surrogates) makes every read a possible match.
    /// </summary>
    public void Rebuild(IEnumerable<string?> literals)
    {
        Stale = false;
        _byteTexts = null;
        _anchors = null;
        _charTexts = null;
        _matchAll = false;
        _longestChars = 0;
        var texts = new HashSet<string>(StringComparer.Ordinal);
        foreach (string? literal in literals)
        {
            if (literal is null)
            {
                continue;
            }

            if (literal.Length == 0 || Encoding.UTF8.GetByteCount(literal) > MaxTextBytes
                || literal.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0 || literal.Contains('\uFFFD', StringComparison.Ordinal))
            {
                _matchAll = true;
                return;
            }

            texts.Add(literal);
        }

        if (texts.Count == 0)
        {
            return;
        }

        _longestChars = texts.Max(t => t.Length);
        if (texts.Count <= MaxByteSearches)
        {
            _byteTexts = [.. texts.Select(Encoding.UTF8.GetBytes)];
            _anchorAt = [.. _byteTexts.Select(AnchorIndex)];
            _anchorOf = [.. _byteTexts.Select((text, i) => text[_anchorAt[i]])];
            _anchors = SearchValues.Create(_anchorOf);
        }
        else
        {
            _charTexts = SearchValues.Create([.. texts], StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Whether <paramref name="read"/> (with the end of the previous read) may complete one of the texts; true when the texts
    /// are searched in the decoded text instead (<see cref="MayMatch(ReadOnlySpan{char})"/>) or one cannot be searched
    /// exactly, false when there are none.
    /// </summary>
    // Optimized from the first call (see QemuConsole.Receive for why).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool MayMatch(ReadOnlySpan<byte> read)
    {
        if (_matchAll)
        {
            return true;
        }

        if (_byteTexts is null)
        {
            return _charTexts is not null;
        }

        // A text that ends in this read either lies in it whole or starts in the carried bytes: search the read, and the
        // carry joined to the read's first bytes.
        int head = Math.Min(read.Length, _carry.Length);
        _carry.AsSpan(0, _carryLength).CopyTo(_joint);
        read[..head].CopyTo(_joint.AsSpan(_carryLength));
        ReadOnlySpan<byte> joint = _joint.AsSpan(0, _carryLength + head);
        foreach (byte[] text in _byteTexts)
        {
            if (joint.IndexOf(text) >= 0)
            {
                return true;
            }
        }

        return ContainsAnyText(read);
    }

    /// <summary>
    /// Whether one of the byte-searched texts lies whole in <paramref name="read"/>: one pass for all of them, unless the read
    /// is dense with anchor bytes (more than <see cref="MaxAnchorCandidates"/> places to check), where one vectorised search
    /// per text is cheaper than checking place after place.
    /// </summary>
    private bool ContainsAnyText(ReadOnlySpan<byte> read)
    {
        byte[][] texts = _byteTexts!;
        int from = 0;
        for (int candidates = 0; ; candidates++)
        {
            if (candidates == MaxAnchorCandidates)
            {
                // Output full of capitals (or whatever the anchors are) would make the anchor pass a byte-by-byte loop; the
                // per-text search costs the same on any text, so a read never costs much more than it did before anchors.
                foreach (byte[] text in texts)
                {
                    if (read.IndexOf(text) >= 0)
                    {
                        return true;
                    }
                }

                return false;
            }

            int found = read[from..].IndexOfAny(_anchors!);
            if (found < 0)
            {
                return false;
            }

            int at = from + found;
            for (int i = 0; i < texts.Length; i++)
            {
                int start = at - _anchorAt[i];
                if (_anchorOf[i] == read[at] && start >= 0 && read.Length - start >= texts[i].Length
                    && read.Slice(start, texts[i].Length).SequenceEqual(texts[i]))
                {
                    return true;
                }
            }

            from = at + 1;
        }
    }

    /// <summary>
    /// Where the byte of <paramref name="text"/> least likely in console output is (the first such): rarer punctuation and
    /// upper-case letters before digits, the punctuation of every kernel log line and path, lower-case letters, and spaces and
    /// line ends, so that the anchor search stops seldom.
    /// </summary>
    private static int AnchorIndex(byte[] text)
    {
        int best = 0;
        for (int i = 1; i < text.Length; i++)
        {
            if (Commonness(text[i]) < Commonness(text[best]))
            {
                best = i;
            }
        }

        return best;
    }

    private static int Commonness(byte b) => b switch
    {
        (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' => 5,
        >= (byte)'a' and <= (byte)'z' => 4,
        >= (byte)'0' and <= (byte)'9' or (byte)'.' or (byte)',' or (byte)':' or (byte)'/' or (byte)'=' or (byte)'-' or (byte)'_'
            or (byte)'[' or (byte)']' or (byte)'(' or (byte)')' => 3,
        >= 0x80 => 2,
        >= (byte)'A' and <= (byte)'Z' => 1,
        _ => 0,
    };

    /// <summary>
    /// Whether <paramref name="recent"/> (new text, preceded by <see cref="LookBack"/> characters where kept) holds one of the
    /// texts; true unless the combined search applies (then the byte search, which comes first, has already decided).
    /// </summary>
    public bool MayMatch(ReadOnlySpan<char> recent) => _matchAll || _charTexts is null || recent.IndexOfAny(_charTexts) >= 0;

    /// <summary>Keeps the last bytes of the stream, for a text split across this read and the next. Called for every read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Remember(ReadOnlySpan<byte> read)
    {
        if (read.Length >= _carry.Length)
        {
            read[^_carry.Length..].CopyTo(_carry);
            _carryLength = _carry.Length;
            return;
        }

        int keep = Math.Min(_carryLength, _carry.Length - read.Length);
        _carry.AsSpan(_carryLength - keep, keep).CopyTo(_carry);
        read.CopyTo(_carry.AsSpan(keep));
        _carryLength = keep + read.Length;
    }
}
