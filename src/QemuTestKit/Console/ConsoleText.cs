using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>Turns raw terminal output into plain text: ANSI escape sequences removed (busybox ash sends <c>ESC[6n</c> after each prompt), LF line ends.</summary>
internal static partial class ConsoleText
{
    public static string Clean(string raw)
    {
        string text = AnsiSequence().Replace(raw, "");
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal);
        return text;
    }

    // CSI sequences (ESC [ params intermediates final), OSC strings (ESC ] … BEL/ST), and two-character escapes.
    [GeneratedRegex(@"\x1B\[[0-?]*[ -/]*[@-~]|\x1B\][^\x07\x1B]*(\x07|\x1B\\)|\x1B[@-Z\\-_]|[\x00-\x08\x0B\x0C\x0E-\x1A\x1C-\x1F\x7F]")]
    private static partial Regex AnsiSequence();
}
