namespace QemuTestKit.Tests.Console;

/// <summary>
/// RunAsync and ExecAsync against a scripted shell that does what the real guest does at the worst moment: a prompt and
/// more output in one write, kernel messages right after the prompt, prompt-like text inside the output, comments. The
/// console uses the prompt a profile sets (<see cref="QemuProfileMachine.ConfigureConsole"/>).
/// </summary>
public sealed class ShellFramingTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task A_job_notice_and_background_output_after_the_prompt_do_not_hide_the_end()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => command switch
        {
            "echo bg-out &" => new ShellReply("", AfterEnd: "[1]+  Done                       echo bg-out\r\n", AfterPrompt: "bg-out\r\n"),
            _ => new ShellReply(command["echo ".Length..] + "\n"),
        });

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal("", await peer.Console.RunAsync("echo bg-out &", Generous, ct));
            Assert.Equal($"next-{i}", await peer.Console.RunAsync($"echo next-{i}", Generous, ct));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_kernel_message_right_after_the_prompt_does_not_hide_the_end()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => command switch
        {
            "uname -s" => new ShellReply("Linux\n", AfterPrompt: "[   12.345678] random: crng init done\r\n"),
            _ => new ShellReply("", Status: 3, AfterPrompt: "[   13.000001] EXT4-fs (vda): mounted filesystem\r\n"),
        });

        Assert.Equal("Linux", await peer.Console.RunAsync("uname -s", Generous, ct));
        Assert.Equal(new ConsoleExecResult(3, ""), await peer.Console.ExecAsync("exit-three", Generous, ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Prompt_text_inside_the_output_does_not_end_it_early()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync();

        // The first part of the output ends with text that looks exactly like the prompt, and is read on its own.
        await using FakeShell shell = await FakeShell.StartAsync(peer, _ => new ShellReply("menu\nqtk# \nchoice> \nlast line\n", SplitAfter: "qtk# "));

        Assert.Equal("menu\nqtk# \nchoice> \nlast line", await peer.Console.RunAsync("show-menu", Generous, ct));
        Assert.Equal(new ConsoleExecResult(0, "menu\nqtk# \nchoice> \nlast line"), await peer.Console.ExecAsync("show-menu", Generous, ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_trailing_comment_does_not_swallow_the_end_marker()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => new ShellReply(command == "echo hi" ? "hi\n" : "?\n"));

        Assert.Equal(new ConsoleExecResult(0, "hi"), await peer.Console.ExecAsync("echo hi # say hi", Generous, ct));
        Assert.Equal("hi", await peer.Console.RunAsync("echo hi # again", Generous, ct));
        Assert.Equal(["echo hi", "echo hi"], shell.Commands);
    }

    [Fact(Timeout = 60_000)]
    public async Task Output_without_a_final_newline_and_multi_line_commands_are_framed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => new ShellReply(command == "printf abc" ? "abc" : "one\ntwo\n", Status: 7));

        Assert.Equal(new ConsoleExecResult(7, "abc"), await peer.Console.ExecAsync("printf abc", Generous, ct));
        Assert.Equal("one\ntwo", await peer.Console.RunAsync("for w in one two\ndo echo $w; done", Generous, ct));
        Assert.Equal("for w in one two\ndo echo $w; done", shell.Commands[^1]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Concurrent_commands_on_one_console_run_one_after_another()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => new ShellReply(command["echo ".Length..] + "\n"));

        Task<ConsoleExecResult>[] runs = [.. Enumerable.Range(0, 8).Select(i => peer.Console.ExecAsync($"echo run-{i}", Generous, ct))];
        ConsoleExecResult[] results = await Task.WhenAll(runs);

        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"run-{i}"), results.Select(r => r.Output));
        Assert.Equal(8, shell.Commands.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Output_longer_than_the_window_fails_with_the_setting_to_raise_instead_of_returning_a_part()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using FakeConsolePeer peer = await StartAsync(new QemuConsoleOptions { MaxTextLength = QemuConsoleOptions.MinMaxTextLength });
        string big = string.Concat(Enumerable.Repeat("0123456789abcdef\n", 1_000));
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => new ShellReply(command == "cat big" ? big : "small\n"));

        var ex = await Assert.ThrowsAsync<QemuConsoleException>(() => peer.Console.ExecAsync("cat big", Generous, ct));

        Assert.Contains("MaxTextLength", ex.Message, StringComparison.Ordinal);
        Assert.Equal("small", await peer.Console.RunAsync("echo small", Generous, ct));
    }

    private static async Task<FakeConsolePeer> StartAsync(QemuConsoleOptions? options = null)
    {
        FakeConsolePeer peer = await FakeConsolePeer.StartAsync(options);
        QemuProfileMachine.ConfigureConsole(new QemuProfile("tiny-like") { Prompt = FakeShell.PromptText }, peer.Console);
        return peer;
    }
}
