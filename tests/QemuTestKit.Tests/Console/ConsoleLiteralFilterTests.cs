using System.Text;
using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Console;

/// <summary>
/// Literal waits and failure patterns are found with one search per read, and the regular expressions run only on a read
/// that holds one of the awaited texts; what is found, and where, stays exactly what the expressions find.
/// </summary>
public sealed class ConsoleLiteralFilterTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("Kernel panic", RegexOptions.CultureInvariant, "Kernel panic")]
    [InlineData(@"FLOOD-END\n", RegexOptions.None, "FLOOD-END\n")]
    [InlineData(@"a\.b\ c\#d\t", RegexOptions.Compiled, "a.b c#d\t")]
    [InlineData("ready ✓}]", RegexOptions.None, "ready ✓}]")]
    [InlineData("a.b", RegexOptions.None, null)]
    [InlineData("^ready", RegexOptions.None, null)]
    [InlineData(@"MARK-\d+", RegexOptions.None, null)]
    [InlineData("(a)", RegexOptions.None, null)]
    [InlineData("panic", RegexOptions.IgnoreCase, null)]
    [InlineData("Kernel panic", RegexOptions.IgnorePatternWhitespace, null)]
    [InlineData(@"a\bc", RegexOptions.None, null)]
    public void Only_a_pattern_that_matches_one_fixed_text_is_literal(string pattern, RegexOptions options, string? literal)
    {
        var regex = new Regex(pattern, options);

        Assert.Equal(literal, ConsoleLiteral.Of(regex, 4096));
        if (literal is not null)
        {
            Assert.Equal(literal, regex.Match("x" + literal + "y").Value);
        }
    }

    [Fact]
    public void Every_text_that_Regex_Escape_makes_is_literal()
    {
        foreach (string text in new[] { "__QTK_ok\r\n", "qtk# ", "$ (1+2)*3? [x]{y}|z^", "tab\there\fform\vvert\u001Besc" })
        {
            Assert.Equal(text, ConsoleLiteral.Of(new Regex(Regex.Escape(text)), 4096));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_literal_split_at_any_byte_is_found_where_the_regular_expression_finds_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        const string prefix = "boot ✓ line\n";
        const string marker = "réady→✓";
        byte[] all = Encoding.UTF8.GetBytes(prefix + marker + "\n");
        for (int split = 1; split < all.Length; split++)
        {
            var stream = new ChunkedStream();
            await using QemuConsole console = QemuConsole.Create(stream);
            console.FailurePatterns = [new Regex("Kernel panic")];
            Task<ConsoleMatch> wait = console.WaitForAsync(marker, ["Oops"], s_wait, ct);

            stream.Send(all[..split]);
            stream.Send(all[split..]);
            ConsoleMatch match = await wait;

            Assert.Equal(prefix.Length, match.Index);
            Assert.Equal(marker, match.Value);
            Assert.Equal(prefix, match.Before);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_literal_that_arrives_one_byte_per_read_is_found()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var stream = new ChunkedStream();
        await using QemuConsole console = QemuConsole.Create(stream);
        Task<ConsoleMatch> wait = console.WaitForAsync("réady→✓", ["Kernel panic"], s_wait, ct);

        foreach (byte b in Encoding.UTF8.GetBytes("boot réad réady→✓ done\n"))
        {
            stream.Send([b]);
        }

        Assert.Equal("boot réad ".Length, (await wait).Index);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failure_literal_split_across_reads_fails_the_wait()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] all = Encoding.UTF8.GetBytes("[    1.0] Kernel panic - not syncing\nREADY\n");
        for (int split = 11; split < 23; split++)
        {
            var stream = new ChunkedStream();
            await using QemuConsole console = QemuConsole.Create(stream);
            console.FailurePatterns = [new Regex("Kernel panic", RegexOptions.CultureInvariant)];
            Task<ConsoleMatch> wait = console.WaitForAsync("READY", timeout: s_wait, cancellationToken: ct);

            stream.Send(all[..split]);
            stream.Send(all[split..]);

            QemuConsoleException failure = await Assert.ThrowsAsync<QemuConsoleException>(() => wait);
            Assert.Contains("Kernel panic", failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Reads_without_an_awaited_text_do_not_run_the_regular_expressions()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var stream = new ChunkedStream();
        await using QemuConsole console = QemuConsole.Create(stream);
        console.FailurePatterns = [new Regex("Kernel panic", RegexOptions.CultureInvariant)];
        Task<ConsoleMatch> wait = console.WaitForAsync("FLOOD-END", ["Oops"], s_wait, ct);
        byte[] filler = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("y flood line of a chatty guest 0123456789\n", 100)));

        for (int i = 0; i < 50; i++)
        {
            stream.Send(filler);
        }

        stream.Send(Encoding.ASCII.GetBytes("FLOOD-END\n"));
        ConsoleMatch end = await wait;

        Assert.Equal(50 * filler.Length, end.Index);
        Assert.Equal(1, console.PatternScans);
    }

    [Fact(Timeout = 60_000)]
    public async Task More_literal_waits_than_byte_searches_all_complete_in_place()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var stream = new ChunkedStream();
        await using QemuConsole console = QemuConsole.Create(stream);
        string[] markers = [.. Enumerable.Range(0, ConsoleLiteralFilter.MaxByteSearches + 3).Select(i => $"<marker {i}>")];
        Task<ConsoleMatch>[] waits = [.. markers.Select(m => console.WaitForAsync(m, null, s_wait, ct))];
        var text = new StringBuilder();
        foreach (string marker in markers.Reverse())
        {
            text.Append("filler ").Append(marker).Append('\n');
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        for (int at = 0; at < bytes.Length; at += 5)
        {
            stream.Send(bytes[at..Math.Min(bytes.Length, at + 5)]);
        }

        for (int i = 0; i < markers.Length; i++)
        {
            ConsoleMatch match = await waits[i];
            Assert.Equal(text.ToString().IndexOf(markers[i], StringComparison.Ordinal), match.Index);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Beside_a_regular_expression_wait_literal_waits_and_failures_run_only_on_reads_that_hold_their_text()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var stream = new ChunkedStream();
        await using QemuConsole console = QemuConsole.Create(stream);
        console.FailurePatterns = [new Regex("Kernel panic", RegexOptions.CultureInvariant)];
        Task<ConsoleMatch> end = console.WaitForAsync("FLOOD-END", ["Oops"], s_wait, ct);
        var mark = new Regex(@"MARK-(\d+)\n");
        Task<ConsoleMatch> first = console.WaitForAsync(mark, timeout: s_wait, cancellationToken: ct);
        byte[] filler = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("y flood line of a chatty guest 0123456789\n", 100)));
        const int reads = 50;

        for (int i = 0; i < reads; i++)
        {
            stream.Send(filler);
        }

        stream.Send(Encoding.ASCII.GetBytes("MARK-7\n"));
        Assert.Equal("7", (await first).Match.Groups[1].Value);

        // Only the marker's expression ran over each read: not the end wait's, nor "Kernel panic" or "Oops".
        Assert.Equal(reads + 1, console.PatternRuns);

        // A literal failure split across reads still fails every wait while a regular expression wait is pending.
        Task<ConsoleMatch> second = console.WaitForAsync(mark, timeout: s_wait, cancellationToken: ct);
        stream.Send(Encoding.ASCII.GetBytes("[    1.0] Kernel pa"));
        stream.Send(Encoding.ASCII.GetBytes("nic - not syncing\n"));
        Assert.Contains("Kernel panic", (await Assert.ThrowsAsync<QemuConsoleException>(() => end)).Message, StringComparison.Ordinal);
        Assert.Contains("Kernel panic", (await Assert.ThrowsAsync<QemuConsoleException>(() => second)).Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_regular_expression_wait_beside_literal_ones_still_sees_every_read()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var stream = new ChunkedStream();
        await using QemuConsole console = QemuConsole.Create(stream);
        Task<ConsoleMatch> literal = console.WaitForAsync("never", null, s_wait, ct);
        Task<ConsoleMatch> pattern = console.WaitForAsync(new Regex(@"code=(\d+)"), timeout: s_wait, cancellationToken: ct);

        stream.Send(Encoding.ASCII.GetBytes("code="));
        stream.Send(Encoding.ASCII.GetBytes("42\n"));

        Assert.Equal("42", (await pattern).Match.Groups[1].Value);
        Assert.False(literal.IsCompleted);
    }
}
