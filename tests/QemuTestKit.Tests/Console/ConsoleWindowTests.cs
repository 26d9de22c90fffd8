using System.Text;
using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Console;

/// <summary>The bounded window: old text is dropped, waits and cursors keep working, matches split across reads are found.</summary>
public sealed class ConsoleWindowTests
{
    private const int Window = 8 * 1024;

    [Fact(Timeout = 60_000)]
    public async Task Text_keeps_only_the_window_and_waits_still_find_new_output()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync(new QemuConsoleOptions { MaxTextLength = Window });
        string filler = Lines("filler", 2_000);

        Task<ConsoleMatch> wait = peer.Console.WaitForAsync(new Regex(@"done=(\d+)"), timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);
        await peer.WriteAsync(filler + "done=42\n");
        ConsoleMatch match = await wait;

        Assert.Equal("42", match.Match.Groups[1].Value);
        Assert.Equal(filler.Length, match.Index);
        Assert.True(peer.Console.Text.Length <= Window, $"Text holds {peer.Console.Text.Length} characters, more than the window of {Window}");
        Assert.EndsWith("done=42\n", peer.Console.Text, StringComparison.Ordinal);

        // The cursor is past the match although the text before it is gone; the next wait starts there.
        Task<ConsoleMatch> next = peer.Console.WaitForAsync("done=", timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);
        await peer.WriteAsync(filler + "done=43\n");
        Assert.Equal((2 * filler.Length) + "done=42\n".Length, (await next).Index);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_wait_whose_cursor_was_dropped_searches_the_text_still_kept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync(new QemuConsoleOptions { MaxTextLength = Window });
        await peer.WriteAsync("early-marker\n" + Lines("filler", 2_000) + "late-marker\n");
        await WaitForTextAsync(peer, "late-marker\n");

        ConsoleMatch late = await peer.Console.WaitForAsync("marker", timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);

        Assert.Equal("early-marker\n".Length + Lines("filler", 2_000).Length + "late-".Length, late.Index);
        Assert.DoesNotContain("early", late.Before, StringComparison.Ordinal);
        Assert.DoesNotContain("early-marker", peer.Console.Text, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_match_split_across_reads_is_found_and_a_failure_split_across_reads_fails_every_wait()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync(new QemuConsoleOptions { MaxTextLength = Window });
        peer.Console.FailurePatterns = [new Regex("Kernel panic - not syncing")];
        Task<ConsoleMatch> split = peer.Console.WaitForAsync(new Regex("READY: all (\\d+) services"), timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);

        await peer.WriteAsync("booting\nREADY: all 1");
        await WaitForTextAsync(peer, "READY: all 1");
        await peer.WriteAsync("2 services up\n");
        Assert.Equal("12", (await split).Match.Groups[1].Value);

        Task<ConsoleMatch> first = peer.Console.WaitForAsync("never one", timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);
        Task<ConsoleMatch> second = peer.Console.WaitForAsync("never two", ["Oops"], TimeSpan.FromSeconds(30), ct);
        await peer.WriteAsync("[ 1.0] Kernel pan");
        await WaitForTextAsync(peer, "Kernel pan");
        await peer.WriteAsync("ic - not syncing: VFS\n");

        Assert.Contains("Kernel panic", (await Assert.ThrowsAsync<QemuConsoleException>(() => first)).Message, StringComparison.Ordinal);
        Assert.Contains("Kernel panic", (await Assert.ThrowsAsync<QemuConsoleException>(() => second)).Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failure_that_starts_before_a_wait_began_fails_only_the_older_wait()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        Task<ConsoleMatch> older = peer.Console.WaitForAsync("never", ["BUG:"], TimeSpan.FromSeconds(30), ct);
        await peer.WriteAsync("step one\nBU");
        await WaitForTextAsync(peer, "BU");

        // The newer wait starts after "BU": the failure that completes in the next read began before it.
        await peer.Console.WaitForAsync("BU", cancellationToken: ct);
        Task<ConsoleMatch> newer = peer.Console.WaitForAsync("step two", ["BUG:"], TimeSpan.FromSeconds(30), ct);
        await peer.WriteAsync("G: in step one\nstep two\n");

        await Assert.ThrowsAsync<QemuConsoleException>(() => older);
        Assert.Equal("G: in step one\n", (await newer).Before);
    }

    [Fact]
    public void A_window_below_the_minimum_is_refused_with_the_setting_to_fix()
    {
        using var stream = new MemoryStream();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => QemuConsole.Create(stream, new QemuConsoleOptions { MaxTextLength = 10 }));
        Assert.Contains("MaxTextLength", ex.Message, StringComparison.Ordinal);
    }

    private static string Lines(string word, int count)
    {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            text.Append(word).Append(' ').Append(i).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Waits (bounded by the test's timeout) until the console holds <paramref name="end"/> at its end, without moving its cursor.</summary>
    private static async Task WaitForTextAsync(FakeConsolePeer peer, string end)
    {
        while (!peer.Console.Text.EndsWith(end, StringComparison.Ordinal))
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }
}
