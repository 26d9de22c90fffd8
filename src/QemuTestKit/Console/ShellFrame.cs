using System.Globalization;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// How <see cref="QemuConsole.RunAsync"/> and <see cref="QemuConsole.ExecAsync"/> frame a command for a POSIX shell on a
/// serial line: the shell prints a begin marker, runs the command, and prints an end marker with <c>$?</c>. The output is
/// what lies between the two markers, found anywhere after the command was sent, so prompts, job notices and kernel
/// messages around them, or prompt-like text inside the output, cannot end or shorten it.
/// </summary>
/// <remarks>
/// The command is wrapped as <c>{ command&lt;newline&gt;}</c>: a trailing <c># comment</c> ends at that newline instead of
/// swallowing the end marker, a trailing <c>&amp;</c> stays valid, and the shell reads both lines before it runs anything,
/// so neither line is echoed inside the output. In the echoed command line each marker is split by quotes
/// (<c>"__QTK_""id_B"</c>), so only the shell's output contains it whole.
/// </remarks>
internal sealed class ShellFrame
{
    private const string Prefix = "__QTK_";

    private readonly string _id = Guid.NewGuid().ToString("N")[..16];

    public ShellFrame(string command)
    {
        ArgumentNullException.ThrowIfNull(command);

        // "{ }" with nothing inside is a syntax error in sh; an empty command runs ':' (which does nothing, status 0).
        string body = string.IsNullOrWhiteSpace(command) ? ":" : command;
        Text = $"echo \"{Prefix}\"\"{_id}_B\"; {{ {body}\n}}; echo \"{Prefix}\"\"{_id}_E$?\"\n";
        Begin = new Regex($@"{Prefix}{_id}_B\r*\n", RegexOptions.CultureInvariant);
        End = new Regex($@"{Prefix}{_id}_E(\d+)\r*\n", RegexOptions.CultureInvariant);
    }

    /// <summary>What to send to the shell (two lines).</summary>
    public string Text { get; }

    /// <summary>The begin marker as the shell prints it; the output starts after it.</summary>
    public Regex Begin { get; }

    /// <summary>The end marker as the shell prints it; group 1 is the exit status.</summary>
    public Regex End { get; }

    /// <summary>The exit status in a match of <see cref="End"/>.</summary>
    public static int ExitStatus(ConsoleMatch end) => int.Parse(end.Match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
}
