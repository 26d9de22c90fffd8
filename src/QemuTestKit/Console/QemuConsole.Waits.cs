using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>Pattern waits: registered with the read loop, completed by it as the text arrives.</summary>
public sealed partial class QemuConsole
{
    private readonly List<Waiter> _waiters = [];
    private readonly ConsoleLiteralFilter _literals = new();

    /// <summary>How many reads the waits' regular expressions ran over (for tests of the literal filter).</summary>
    internal long PatternScans { get; private set; }

    /// <summary>How many times a wait's pattern or a failure pattern ran over a read (for tests of the literal filter).</summary>
    internal long PatternRuns { get; private set; }

    // Whether a pending wait has a pattern or failure pattern that is not literal (those run on every read); set with the
    // literal filter's rebuild.
    private bool _nonLiteralPending;

    // Reused by every scan (under the lock): where each distinct failure pattern's shared scan starts, and what it found.
    private readonly Dictionary<Regex, long> _failureScanFrom = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Regex, long> _failureHits = new(ReferenceEqualityComparer.Instance);

    /// <summary>Waits until <paramref name="text"/> (literal text, not a regular expression) appears.</summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed first.</exception>
    /// <exception cref="TimeoutException">Nothing matched within <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ConsoleMatch> WaitForAsync(string text, IEnumerable<string>? failurePatterns = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return WaitForAsync(Literal(text), failurePatterns?.Select(Literal), timeout, cancellationToken);
    }

    /// <summary>
    /// Waits until <paramref name="pattern"/> matches the output after the read cursor, and moves the cursor past the match.
    /// <c>^</c> and <c>\A</c> match at the cursor, <c>$</c> and <c>\z</c> at the end of the output received so far.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern (given here or in <see cref="FailurePatterns"/>) appeared first, or the console closed first.</exception>
    /// <exception cref="TimeoutException">Nothing matched within <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ConsoleMatch> WaitForAsync(Regex pattern, IEnumerable<Regex>? failurePatterns = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return WaitCoreAsync(pattern, failurePatterns, from: null, timeout, OrAmbient(cancellationToken));
    }

    private static Regex Literal(string text) => new(Regex.Escape(text), RegexOptions.CultureInvariant);

    private static int PublicIndex(long position) => (int)Math.Min(position, int.MaxValue);

    /// <summary>Moves the cursor to the end of the output and returns it: a command's output starts after what came before it.</summary>
    private long MarkEnd()
    {
        lock (_gate)
        {
            _cursor = _window.End;
            return _cursor;
        }
    }

    private async Task<ConsoleMatch> WaitCoreAsync(Regex pattern, IEnumerable<Regex>? failurePatterns, long? from, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        Regex[] failures = [.. FailurePatterns, .. failurePatterns ?? []];
        var waiter = new Waiter(pattern, failures);
        lock (_gate)
        {
            // The first look covers everything kept since the wait's start; after that the read loop shows it only new text.
            waiter.From = from ?? _cursor;
            if (!TryCompleteUnlocked(waiter, waiter.From, sharedFailureHits: null))
            {
                if (_closed)
                {
                    waiter.Fail(new QemuConsoleException($"The console closed ({_closeReason}) before {ConsoleText.Visible(pattern.ToString())} appeared.", TailUnlocked()));
                }
                else
                {
                    _waiters.Add(waiter);
                    _literals.Invalidate();
                }
            }
        }

        TimeSpan limit = timeout ?? DefaultTimeout;
        try
        {
            return await (limit == Timeout.InfiniteTimeSpan
                ? waiter.Task.WaitAsync(cancellationToken)
                : waiter.Task.WaitAsync(limit, cancellationToken)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Remove(waiter);
            throw TimedOut($"{ConsoleText.Visible(pattern.ToString())} did not appear on the console", limit);
        }
        catch (OperationCanceledException)
        {
            Remove(waiter);
            throw;
        }
    }

    private void Remove(Waiter waiter)
    {
        lock (_gate)
        {
            if (_waiters.Remove(waiter))
            {
                _literals.Invalidate();
            }
        }
    }

    /// <summary>Whether the pending waits need to look at a read of <paramref name="bytes"/> (see <see cref="ConsoleLiteralFilter"/>); call under the lock.</summary>
    private bool LiteralsMayMatchUnlocked(ReadOnlySpan<byte> bytes)
    {
        if (_literals.Stale)
        {
            _literals.Rebuild(_waiters.SelectMany(w => w.Literals));
            _nonLiteralPending = _waiters.Exists(w => Array.IndexOf(w.Literals, null) >= 0);
        }

        return _literals.MayMatch(bytes);
    }

    /// <summary>
    /// Lets every pending wait look at the text appended after <paramref name="previousEnd"/>; call under the lock. Each
    /// wait's pattern scans the new text plus <see cref="MatchLookBack"/>; each distinct failure pattern scans it once for
    /// all waits. A literal pattern or failure pattern runs only when <paramref name="literalHit"/> (the literal filter found
    /// one of the awaited texts in the read, <see cref="ConsoleLiteralFilter"/>); the others run on every read.
    /// </summary>
    private void ScanUnlocked(long previousEnd, bool literalHit)
    {
        if (_waiters.Count == 0)
        {
            return;
        }

        literalHit = literalHit && _literals.MayMatch(_window.From(previousEnd - _literals.LookBack));
        if (!literalHit && !_nonLiteralPending)
        {
            return;
        }

        PatternScans++;

        long regionStart = Math.Max(_window.Start, previousEnd - MatchLookBack);
        _failureScanFrom.Clear();
        _failureHits.Clear();
        foreach (Waiter waiter in _waiters)
        {
            long from = Math.Max(waiter.From, regionStart);
            for (int i = 0; i < waiter.Failures.Length; i++)
            {
                // A literal failure whose text is not in the read cannot match in it: no run, no hit.
                Regex failure = waiter.Failures[i];
                if (!literalHit && waiter.Literals[i + 1] is not null)
                {
                    continue;
                }

                if (!_failureScanFrom.TryGetValue(failure, out long earliest) || from < earliest)
                {
                    _failureScanFrom[failure] = from;
                }
            }
        }

        foreach ((Regex failure, long from) in _failureScanFrom)
        {
            PatternRuns++;
            _failureHits[failure] = FirstMatchUnlocked(failure, _window.Start, from).Index;
        }

        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            // Completion runs continuations asynchronously, so user code never runs under this lock.
            Waiter waiter = _waiters[i];
            bool scanPattern = literalHit || waiter.Literals[0] is null;
            PatternRuns += scanPattern ? 1 : 0;
            if (TryCompleteUnlocked(waiter, Math.Max(waiter.From, regionStart), _failureHits, scanPattern))
            {
                _waiters.RemoveAt(i);
                _literals.Invalidate();
            }
        }
    }

    /// <summary>
    /// Completes <paramref name="waiter"/> if its pattern matches at or after <paramref name="searchFrom"/>, or fails it if a
    /// failure pattern matches first; call under the lock. <paramref name="sharedFailureHits"/> holds this read's shared
    /// failure scans (null: scan each failure pattern from the wait's start); <paramref name="scanPattern"/> false means the
    /// literal filter showed the pattern's text is not in the read.
    /// </summary>
    private bool TryCompleteUnlocked(Waiter waiter, long searchFrom, Dictionary<Regex, long>? sharedFailureHits, bool scanPattern = true)
    {
        long failedAt = -1;
        Regex? failure = null;
        foreach (Regex candidate in waiter.Failures)
        {
            long at = sharedFailureHits?.GetValueOrDefault(candidate, -1) ?? -1;
            if (sharedFailureHits is null || (at >= 0 && at < waiter.From))
            {
                // No shared scan, or it found a match from before this wait began: look again from the wait's own start.
                at = FirstMatchUnlocked(candidate, _window.Start, waiter.From).Index;
            }

            if (at >= 0 && (failedAt < 0 || at < failedAt))
            {
                failedAt = at;
                failure = candidate;
            }
        }

        if (failure is null && !scanPattern)
        {
            return false;
        }

        (long found, int length) = scanPattern ? FirstMatchUnlocked(waiter.Pattern, waiter.From, searchFrom) : (-1, 0);
        if (failure is not null && (found < 0 || failedAt <= found))
        {
            waiter.Fail(new QemuConsoleException(
                $"Failure pattern {ConsoleText.Visible(failure.ToString())} appeared on the console while waiting for {ConsoleText.Visible(waiter.Pattern.ToString())}.", TailUnlocked()));
            return true;
        }

        if (found < 0)
        {
            return false;
        }

        long inputStart = Math.Max(waiter.From, _window.Start);
        Match match = GroupsUnlocked(waiter.Pattern, inputStart, found, length);
        long matchEnd = found + match.Length;
        _cursor = Math.Max(_cursor, matchEnd);
        waiter.Succeed(new ConsoleMatch(match, PublicIndex(found), new string(_window.Slice(inputStart, found))) { End = matchEnd });
        return true;
    }

    /// <summary>
    /// Re-runs <paramref name="pattern"/> on a string for its groups, where the span scan found it. The string covers the
    /// match and <see cref="MatchLookBack"/> on each side, not all the text since the wait began (a flood would make that
    /// megabytes per match); a pattern whose look-arounds reach further gets the full text instead.
    /// </summary>
    private Match GroupsUnlocked(Regex pattern, long inputStart, long found, int length)
    {
        long sliceStart = Math.Max(inputStart, found - MatchLookBack);
        string around = new(_window.Slice(sliceStart, found + length + MatchLookBack));
        Match match = pattern.Match(around, (int)(found - sliceStart));
        if (match.Success && match.Index == found - sliceStart && match.Length == length)
        {
            return match;
        }

        string all = new(_window.From(inputStart));
        return pattern.Match(all, (int)(found - inputStart));
    }

    /// <summary>
    /// Where <paramref name="regex"/> first matches at or after <paramref name="from"/> in the kept text that starts at
    /// <paramref name="inputStart"/> (anchors and look-behinds see that text), and how long the match is; -1 if nowhere.
    /// </summary>
    private (long Index, int Length) FirstMatchUnlocked(Regex regex, long inputStart, long from)
    {
        long start = Math.Max(inputStart, _window.Start);
        ReadOnlySpan<char> input = _window.From(start);
        int startat = (int)Math.Clamp(from - start, 0, input.Length);
        foreach (ValueMatch m in regex.EnumerateMatches(input, startat))
        {
            return (start + m.Index, m.Length);
        }

        return (-1, 0);
    }

    private void FailAllUnlocked(string reason)
    {
        foreach (Waiter waiter in _waiters)
        {
            waiter.Fail(new QemuConsoleException($"The console closed ({reason}) before {ConsoleText.Visible(waiter.Pattern.ToString())} appeared.", TailUnlocked()));
        }

        _waiters.Clear();
        _literals.Invalidate();
    }

    private sealed class Waiter(Regex pattern, Regex[] failures)
    {
        private readonly TaskCompletionSource<ConsoleMatch> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Regex Pattern { get; } = pattern;

        public Regex[] Failures { get; } = failures;

        /// <summary>The text of the pattern and of each failure pattern if it is literal (null where it is not), for <see cref="ConsoleLiteralFilter"/>.</summary>
        public string?[] Literals { get; } = [ConsoleLiteral.Of(pattern, MatchLookBack), .. failures.Select(f => ConsoleLiteral.Of(f, MatchLookBack))];

        /// <summary>The absolute position the wait searches from (its cursor when it began).</summary>
        public long From { get; set; }

        public Task<ConsoleMatch> Task => _done.Task;

        public void Succeed(ConsoleMatch match) => _done.TrySetResult(match);

        public void Fail(Exception exception) => _done.TrySetException(exception);
    }
}
