using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Console;

/// <summary>What the console puts into exception messages: the machine's stall diagnosis, and text safe for XML and terminals.</summary>
public sealed class ConsoleMessageTests
{
    private const string Junk = "bell\x07 nul\x00 title\x1b]0;t\x07 cursor\x1b[6n charset\x1b(B cr\r\n c1\u009b2J del\x7f lone\x1b\nend\n";

    [Fact(Timeout = 30_000)]
    public async Task A_timeout_message_carries_the_stall_diagnosis()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        peer.Console.StallDiagnosis = () => "QEMU (pid 123) is stopped (state T)";

        var wait = await Assert.ThrowsAsync<TimeoutException>(() => peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMilliseconds(200), cancellationToken: ct));
        var run = await Assert.ThrowsAsync<TimeoutException>(() => peer.Console.RunAsync("true", TimeSpan.FromMilliseconds(200), ct));

        Assert.Contains("QEMU (pid 123) is stopped (state T)", wait.Message, StringComparison.Ordinal);
        Assert.Contains("QEMU (pid 123) is stopped (state T)", run.Message, StringComparison.Ordinal);
        Assert.Contains("RunAsync(\"true\")", run.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_failing_diagnosis_does_not_hide_the_timeout()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        peer.Console.StallDiagnosis = () => throw new IOException("/proc/123/stat: gone");

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMilliseconds(200), cancellationToken: ct));

        Assert.Contains("/proc/123/stat: gone", ex.Message, StringComparison.Ordinal);
        Assert.Contains("never", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Console_tails_in_messages_hold_no_control_characters_but_newline_and_tab()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        await peer.WriteAsync(Junk);
        await peer.Console.WaitForAsync("end\n", cancellationToken: ct);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => peer.Console.WaitForAsync("never\x1b[6n", timeout: TimeSpan.FromMilliseconds(200), cancellationToken: ct));
        Task<ConsoleMatch> failing = peer.Console.WaitForAsync("never", ["PANIC"], TimeSpan.FromSeconds(20), ct);
        await peer.WriteAsync(Junk + "PANIC\n");
        var failure = await Assert.ThrowsAsync<QemuConsoleException>(() => failing);

        foreach (string text in new[] { timeout.Message, failure.Message, failure.ConsoleTail, peer.Console.Tail() })
        {
            AssertSafe(text);
            Assert.Contains("bell nul title cursor charset cr\n c12J del lone\nend", text, StringComparison.Ordinal);
        }

        Assert.Contains(@"never\x1b\[6n", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clean_and_Visible_leave_only_newline_and_tab_and_keep_valid_text()
    {
        Assert.Equal("a\tb\nc ü 😀 \uFFFD\uFFFD", ConsoleText.Clean("a\tb\r\nc ü 😀 \uD800\uFFFE\x1b[0m"));
        Assert.Equal(@"ring\x07 \x1b[6n nul\x00 tab" + "\t", ConsoleText.Visible("ring\x07 \x1b[6n nul\x00 tab\t"));
        AssertSafe(ConsoleText.Clean(Junk));
    }

    private static void AssertSafe(string text)
    {
        Match bad = Regex.Match(text, @"[\x00-\x08\x0B-\x1F\x7F-\x9F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]");
        Assert.False(bad.Success, $"control character U+{(bad.Success ? bad.Value[0] : 0):X4} at {bad.Index} in: {ConsoleText.Visible(text)}");
    }
}
