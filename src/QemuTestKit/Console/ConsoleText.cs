using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// Turns raw terminal output into plain text that is safe in XML 1.0 reports and on a terminal: ANSI escape sequences
/// removed (busybox ash sends <c>ESC[6n</c> after each prompt), LF line ends, and no control character but newline and tab.
/// </summary>
internal static partial class ConsoleText
{
    /// <summary>
    /// Removes escape sequences (and fragments of them, such as a lone ESC where the window cut a sequence), carriage
    /// returns and every other C0/C1 control character but newline and tab; replaces lone surrogates and the non-characters
    /// U+FFFE/U+FFFF, which XML 1.0 cannot hold, with U+FFFD.
    /// </summary>
    public static string Clean(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        string text = AnsiSequence().Replace(raw, "");
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal);
        return XmlInvalid().Replace(text, "\uFFFD");
    }

    /// <summary>
    /// Shows control characters other than newline and tab as <c>\xNN</c> (BEL as <c>\x07</c>), so a command or pattern quoted
    /// in a message is readable and safe in XML and on a terminal.
    /// </summary>
    public static string Visible(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsEscape().IsMatch(text))
        {
            return text;
        }

        var result = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (c is '\n' or '\t' || !char.IsControl(c))
            {
                result.Append(c);
            }
            else
            {
                result.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
        }

        return result.ToString();
    }

    // In order: CSI sequences (ESC [ params intermediates final), OSC strings (ESC ] … BEL/ST), other escapes (ESC,
    // intermediates, final: ESC ( B, ESC 7, ESC =), a lone ESC, and the C0/C1 controls other than tab, LF and CR (CR is
    // handled with line ends).
    [GeneratedRegex(@"\x1B\[[0-?]*[ -/]*[@-~]|\x1B\][^\x07\x1B]*(\x07|\x1B\\)|\x1B[ -/]*[0-~]|\x1B|[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]")]
    private static partial Regex AnsiSequence();

    [GeneratedRegex(@"[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\uFFFE\uFFFF]")]
    private static partial Regex XmlInvalid();

    [GeneratedRegex(@"[\x00-\x08\x0B-\x1F\x7F-\x9F\uD800-\uDFFF\uFFFE\uFFFF]")]
    private static partial Regex NeedsEscape();
}
