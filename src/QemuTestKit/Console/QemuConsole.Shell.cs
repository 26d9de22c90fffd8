using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>Shell helpers over the console: framed commands and key presses for boot loaders.</summary>
public sealed partial class QemuConsole
{
    /// <summary>
    /// Runs <paramref name="command"/> in the guest's shell and returns what it printed (escape sequences removed, LF line
    /// ends, the final line break trimmed). The output is framed by unique markers the shell prints around the command (see
    /// <see cref="ExecAsync"/>), so neither the echoed command line, the prompt, job notices nor kernel messages around it are
    /// mistaken for it or end it early. The command may span lines and end with <c>&amp;</c> or a <c># comment</c>.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, the console closed, or the output was longer than <see cref="QemuConsoleOptions.MaxTextLength"/>.</exception>
    /// <exception cref="TimeoutException">The command did not finish within <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<string> RunAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        (await RunFramedAsync(command, nameof(RunAsync), timeout, OrAmbient(cancellationToken)).ConfigureAwait(false)).Output;

    /// <summary>
    /// Runs <paramref name="command"/> in the guest's shell and returns its exit status and output. The shell prints a unique
    /// begin marker, runs the command, then prints an end marker with <c>$?</c>; the output is what lies between them, found
    /// anywhere after the command was sent, whatever else (prompts, job notices, kernel messages) the console shows around
    /// it. The command may span lines and end with <c>&amp;</c> or a <c># comment</c>. It needs a POSIX shell (<c>{ …; }</c>,
    /// <c>echo</c>, <c>$?</c>) reading the console; the prompt is not waited for, so a command can be sent while the shell is
    /// still printing its prompt. Concurrent calls on one console run one after another in the shell.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, the console closed, or the output was longer than <see cref="QemuConsoleOptions.MaxTextLength"/>.</exception>
    /// <exception cref="TimeoutException">The command did not finish within <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ConsoleExecResult> ExecAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RunFramedAsync(command, nameof(ExecAsync), timeout, OrAmbient(cancellationToken));

    /// <summary>
    /// Sends <paramref name="keys"/> every <paramref name="interval"/> (default 0.5 s) until <paramref name="pattern"/>
    /// appears: for boot loaders that wait for a key press.
    /// </summary>
    /// <exception cref="QemuConsoleException">A failure pattern appeared, or the console closed.</exception>
    /// <exception cref="TimeoutException"><paramref name="pattern"/> did not appear within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ConsoleMatch> InterruptUntilAsync(Regex pattern, string keys, TimeSpan? interval = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken = OrAmbient(cancellationToken);
        TimeSpan limit = timeout ?? DefaultTimeout;
        using CancellationTokenSource deadline = Deadline(limit, cancellationToken);
        TimeSpan every = interval ?? TimeSpan.FromMilliseconds(500);
        Task<ConsoleMatch> found = WaitCoreAsync(pattern, null, from: null, Timeout.InfiniteTimeSpan, deadline.Token);
        try
        {
            while (!found.IsCompleted)
            {
                await SendAsync(keys, deadline.Token).ConfigureAwait(false);
                await Task.WhenAny(found, Task.Delay(every, deadline.Token)).ConfigureAwait(false);
            }

            return await found.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut($"InterruptUntilAsync: {ConsoleText.Visible(pattern.ToString())} did not appear", limit);
        }
        catch (OperationCanceledException ex) when (ex.CancellationToken != cancellationToken)
        {
            throw new OperationCanceledException(ex.Message, ex, cancellationToken);
        }
    }

    /// <inheritdoc cref="InterruptUntilAsync(Regex, string, TimeSpan?, TimeSpan?, CancellationToken)"/>
    public Task<ConsoleMatch> InterruptUntilAsync(string text, string keys, TimeSpan? interval = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return InterruptUntilAsync(Literal(text), keys, interval, timeout, cancellationToken);
    }

    private static CancellationTokenSource Deadline(TimeSpan limit, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (limit != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(limit);
        }

        return cts;
    }

    private static string TrimFinalNewline(string text) => text.EndsWith('\n') ? text[..^1] : text;

    private async Task<ConsoleExecResult> RunFramedAsync(string command, string caller, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var frame = new ShellFrame(command);
        TimeSpan limit = timeout ?? DefaultTimeout;
        using CancellationTokenSource deadline = Deadline(limit, cancellationToken);

        // Registered before the send, from the end of what came before: the markers cannot be missed however fast the shell is.
        // The frame goes out in one write, so concurrent commands reach the shell whole, one after another.
        long start = MarkEnd();
        Task<ConsoleMatch> begin = WaitCoreAsync(frame.Begin, null, start, Timeout.InfiniteTimeSpan, deadline.Token);
        try
        {
            await SendAsync(frame.Text, deadline.Token).ConfigureAwait(false);
            ConsoleMatch begun = await begin.ConfigureAwait(false);
            ConsoleMatch end = await WaitCoreAsync(frame.End, null, begun.End, Timeout.InfiniteTimeSpan, deadline.Token).ConfigureAwait(false);
            long printed = end.End - end.Match.Length - begun.End;
            if (end.Before.Length < printed)
            {
                // The window dropped the start of the output before the command ended: returning the rest would be a lie.
                throw new QemuConsoleException(
                    $"{caller}(\"{ConsoleText.Visible(command)}\") printed {printed} characters, more than the console keeps in memory " +
                    $"(QemuConsoleOptions.MaxTextLength = {_window.MaxLength}); raise MaxTextLength, or write the output to a file in the guest " +
                    $"and read that{(LogPath is null ? "" : $" (the console log {LogPath} has all of it)")}.",
                    Tail());
            }

            return new ConsoleExecResult(ShellFrame.ExitStatus(end), TrimFinalNewline(ConsoleText.Clean(end.Before)));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut($"{caller}(\"{ConsoleText.Visible(command)}\") did not finish (no end marker from the shell)", limit);
        }
        catch (OperationCanceledException ex) when (ex.CancellationToken != cancellationToken)
        {
            // The caller's cancel surfaces with the caller's token, not the internal deadline's.
            throw new OperationCanceledException(ex.Message, ex, cancellationToken);
        }
        finally
        {
            // A send that failed leaves the begin wait registered: end it, so nothing is left waiting.
            if (!begin.IsCompleted)
            {
                await deadline.CancelAsync().ConfigureAwait(false);
                await ((Task)begin).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}
