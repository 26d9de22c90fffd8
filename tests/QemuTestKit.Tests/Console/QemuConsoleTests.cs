using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Console;

/// <summary>The console against a scripted peer: waits, failure patterns, cursor, cleaning, framing, logs.</summary>
public sealed class QemuConsoleTests
{
    [Fact(Timeout = 30_000)]
    public async Task WaitFor_returns_when_the_bytes_arrive()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();

        Task<ConsoleMatch> wait = peer.Console.WaitForAsync(new Regex(@"ready=(\d+)"), timeout: TimeSpan.FromSeconds(20), cancellationToken: ct);
        await Task.Delay(100, ct);
        Assert.False(wait.IsCompleted);
        await peer.WriteAsync("booting...\nrea");
        await Task.Delay(50, ct);
        Assert.False(wait.IsCompleted);
        await peer.WriteAsync("dy=42\n");
        ConsoleMatch match = await wait;

        Assert.Equal("ready=42", match.Value);
        Assert.Equal("42", match.Match.Groups[1].Value);
        Assert.Equal("booting...\n", match.Before);
        Assert.Equal("booting...\n".Length, match.Index);
    }

    [Fact(Timeout = 30_000)]
    public async Task Output_printed_before_the_wait_is_found_once()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        await peer.WriteAsync("MARK one\n");
        await peer.Console.WaitForAsync("one", cancellationToken: ct);

        await peer.WriteAsync("MARK two\n");
        ConsoleMatch first = await peer.Console.WaitForAsync("MARK", cancellationToken: ct);
        Task<ConsoleMatch> second = peer.Console.WaitForAsync("MARK", timeout: TimeSpan.FromSeconds(20), cancellationToken: ct);
        await Task.Delay(100, ct);

        Assert.Equal("MARK one\n".Length, first.Index);
        Assert.False(second.IsCompleted);
        await peer.WriteAsync("MARK three\n");
        Assert.Equal("MARK", (await second).Value);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_failure_pattern_ends_the_wait_at_once_with_the_console_tail()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        Task<ConsoleMatch> wait = peer.Console.WaitForAsync("login:", ["Kernel panic"], TimeSpan.FromMinutes(10), ct);

        await peer.WriteAsync("[    1.0] something bad\n[    1.1] Kernel panic - not syncing: VFS\n");
        var ex = await Assert.ThrowsAsync<QemuConsoleException>(() => wait);

        Assert.Contains("Kernel panic", ex.Message, StringComparison.Ordinal);
        Assert.Contains("something bad", ex.ConsoleTail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Console_wide_failure_patterns_apply_to_every_wait()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        peer.Console.FailurePatterns = [new Regex("BUG:")];
        Task<ConsoleMatch> wait = peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMinutes(10), cancellationToken: ct);

        await peer.WriteAsync("BUG: soft lockup\n");

        await Assert.ThrowsAsync<QemuConsoleException>(() => wait);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_timeout_is_a_TimeoutException_with_the_tail_and_cancel_is_OperationCanceled()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        await peer.WriteAsync("last words\n");
        await peer.Console.WaitForAsync("words", cancellationToken: ct);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMilliseconds(200), cancellationToken: ct));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task<ConsoleMatch> cancelled = peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMinutes(1), cancellationToken: cts.Token);
        await cts.CancelAsync();

        Assert.Contains("last words", timeout.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_closed_console_fails_pending_waits_but_keeps_its_text()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        Task<ConsoleMatch> wait = peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMinutes(1), cancellationToken: ct);
        await peer.WriteAsync("bye\n");
        peer.Guest.Shutdown(System.Net.Sockets.SocketShutdown.Both);

        var ex = await Assert.ThrowsAsync<QemuConsoleException>(() => wait);
        await peer.Console.Completion;

        Assert.Contains("closed", ex.Message, StringComparison.Ordinal);
        Assert.False(peer.Console.IsConnected);
        Assert.Equal("bye", (await peer.Console.WaitForAsync("bye", cancellationToken: ct)).Value);
        await Assert.ThrowsAsync<QemuConsoleException>(() => peer.Console.WaitForAsync("more", cancellationToken: ct));
    }

    [Fact(Timeout = 30_000)]
    public async Task RunAsync_returns_the_output_without_echo_prompt_or_escape_sequences()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, _ => new ShellReply("\x1b[1;34mbin\x1b[0m  etc\nproc\n"));

        Assert.Equal("bin  etc\nproc", await peer.Console.RunAsync("ls", cancellationToken: ct));
        Assert.Equal(["ls"], shell.Commands);
    }

    [Fact(Timeout = 30_000)]
    public async Task ExecAsync_frames_the_output_and_returns_the_status()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();

        Task<ConsoleExecResult> exec = peer.Console.ExecAsync("false", cancellationToken: ct);
        string line = await peer.ReadUntilAsync("\n", ct);
        Match ids = Regex.Match(line, "__QTK_\"\"([0-9a-f]+)_B");
        Assert.True(ids.Success, line);
        string id = ids.Groups[1].Value;

        // The echo carries the quoted markers; only the output carries them whole.
        await peer.WriteAsync(line.Replace("\n", "\r\n", StringComparison.Ordinal));
        await peer.WriteAsync($"__QTK_{id}_B\r\nsome output\r\n__QTK_{id}_E1\r\nqtk# \x1b[6n");
        ConsoleExecResult result = await exec;

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("some output", result.Output);
    }

    [Fact(Timeout = 30_000)]
    public async Task InterruptUntil_sends_keys_until_the_pattern_appears()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        Task<ConsoleMatch> wait = peer.Console.InterruptUntilAsync("boot>", "\x1b", TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(20), ct);

        Assert.Equal("\x1b\x1b\x1b", await peer.ReadUntilAsync("\x1b\x1b\x1b", ct));
        await peer.WriteAsync("boot> ");

        Assert.Equal("boot>", (await wait).Value);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_console_log_receives_every_byte_and_is_kept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string log = Path.Combine(Path.GetTempPath(), $"qtk-console-{Guid.NewGuid():N}.log");
        try
        {
            await using (FakeConsolePeer peer = await FakeConsolePeer.StartAsync(new QemuConsoleOptions { LogPath = log }))
            {
                await peer.WriteAsync("one ü\r\n\x1b[6ntwo\n");
                await peer.Console.WaitForAsync("two", cancellationToken: ct);
            }

            Assert.Equal("one ü\r\n\x1b[6ntwo\n", await File.ReadAllTextAsync(log, ct));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Multibyte_characters_split_across_reads_decode_correctly()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes("grüße\n");

        await peer.Guest.SendAsync(bytes.AsMemory(0, 3), ct);
        await Task.Delay(50, ct);
        await peer.Guest.SendAsync(bytes.AsMemory(3), ct);

        Assert.Equal("grüße", (await peer.Console.WaitForAsync("grüße", cancellationToken: ct)).Value);
    }
}
