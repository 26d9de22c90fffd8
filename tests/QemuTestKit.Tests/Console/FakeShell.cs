using System.Text;
using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Console;

/// <summary>What the scripted shell prints for one command.</summary>
/// <param name="Output">The command's output (LF line ends; sent with CRLF, as a tty does).</param>
/// <param name="Status">The command's exit status (<c>$?</c>).</param>
/// <param name="AfterEnd">Printed after the command and before the prompt (job notices such as <c>[1]+ Done</c>).</param>
/// <param name="AfterPrompt">Printed right after the prompt, in the same write (kernel messages, a background job's output).</param>
/// <param name="SplitAfter">
/// If set, the reply is written in two parts, split after the first occurrence of this text in the output, and the second
/// part only once the console holds the first (so the first part is surely read on its own).
/// </param>
internal sealed record ShellReply(string Output, int Status = 0, string AfterEnd = "", string AfterPrompt = "", string? SplitAfter = null);

/// <summary>
/// A scripted stand-in for the guest's shell behind a <see cref="FakeConsolePeer"/>: it echoes what it receives like a tty,
/// drops <c># comments</c> like sh, understands the begin/end markers the console's shell helpers print (and a plain command
/// line), and answers each command from a script with the whole reply, prompt included, in one write.
/// </summary>
internal sealed partial class FakeShell : IAsyncDisposable
{
    public const string PromptText = "qtk# ";

    private readonly FakeConsolePeer _peer;
    private readonly Func<string, ShellReply> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _commands = [];

    private FakeShell(FakeConsolePeer peer, Func<string, ShellReply> script)
    {
        _peer = peer;
        _script = script;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>The commands the shell ran, comments removed.</summary>
    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public static async Task<FakeShell> StartAsync(FakeConsolePeer peer, Func<string, ShellReply> script)
    {
        await peer.WriteAsync(PromptText + "\x1b[6n");
        return new FakeShell(peer, script);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        string? frameId = null;
        var body = new List<string>();
        while (true)
        {
            string line = await _peer.ReadUntilAsync("\n", cancellationToken);
            if (line.Length == 0)
            {
                return;
            }

            line = WithoutComment(line.TrimEnd('\n'));
            await _peer.WriteAsync(line + "\r\n");
            if (frameId is not null)
            {
                Match close = FrameEnd().Match(line);
                if (!close.Success || close.Groups["id"].Value != frameId)
                {
                    body.Add(line);
                    await _peer.WriteAsync("> ");
                    continue;
                }

                await ReplyAsync(string.Join('\n', body), frameId, withEnd: true);
                frameId = null;
                body.Clear();
            }
            else if (FrameStart().Match(line) is { Success: true } start)
            {
                frameId = start.Groups["id"].Value;
                body.Add(start.Groups["cmd"].Value);
                await _peer.WriteAsync("> ");
            }
            else if (OneLineFrame().Match(line) is { Success: true } oneLine)
            {
                await ReplyAsync(oneLine.Groups["cmd"].Value, oneLine.Groups["id"].Value, withEnd: true);
            }
            else if (BeginOnly().Match(line) is { Success: true } beginOnly)
            {
                // A comment swallowed the end marker: the shell never prints it.
                await ReplyAsync(beginOnly.Groups["cmd"].Value, beginOnly.Groups["id"].Value, withEnd: false);
            }
            else
            {
                await ReplyAsync(line, id: null, withEnd: false);
            }
        }
    }

    private async Task ReplyAsync(string command, string? id, bool withEnd)
    {
        lock (_commands)
        {
            _commands.Add(command);
        }

        ShellReply reply = _script(command);
        string output = reply.Output.Replace("\n", "\r\n", StringComparison.Ordinal);
        var text = new StringBuilder();
        if (id is not null)
        {
            text.Append("__QTK_").Append(id).Append("_B\r\n");
        }

        text.Append(output);
        if (id is not null && withEnd)
        {
            text.Append("__QTK_").Append(id).Append("_E").Append(reply.Status).Append("\r\n");
        }

        text.Append(reply.AfterEnd).Append(PromptText).Append("\x1b[6n").Append(reply.AfterPrompt);
        string all = text.ToString();
        int split = reply.SplitAfter is null ? -1 : all.IndexOf(reply.SplitAfter, StringComparison.Ordinal);
        if (split < 0)
        {
            await _peer.WriteAsync(all);
            return;
        }

        string first = all[..(split + reply.SplitAfter!.Length)];
        await _peer.WriteAsync(first);
        while (!_peer.Console.Text.EndsWith(first, StringComparison.Ordinal))
        {
            await Task.Delay(5);
        }

        await _peer.WriteAsync(all[first.Length..]);
    }

    /// <summary>Drops a <c>#</c> comment (a <c>#</c> at the start of a word, outside quotes), as sh does.</summary>
    private static string WithoutComment(string line)
    {
        char quote = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i].TrimEnd();
            }
        }

        return line;
    }

    [GeneratedRegex("""^echo "__QTK_""(?<id>\w+)_B"; \{ (?<cmd>.*)$""")]
    private static partial Regex FrameStart();

    [GeneratedRegex("""^\}; echo "__QTK_""(?<id>\w+)_E\$\?"$""")]
    private static partial Regex FrameEnd();

    [GeneratedRegex("""^echo "__QTK_""(?<id>\w+)_B"; (?<cmd>.*?)[; ]+echo "__QTK_""\k<id>_E\$\?"$""")]
    private static partial Regex OneLineFrame();

    [GeneratedRegex("""^echo "__QTK_""(?<id>\w+)_B"; (?<cmd>.*)$""")]
    private static partial Regex BeginOnly();
}
