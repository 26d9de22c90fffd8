using System.Globalization;
using System.Text;

namespace QemuTestKit.Internal;

/// <summary>
/// Makes text safe to put into a test report (XML 1.0) or onto a terminal: control characters other than tab and
/// newline are shown as escapes (<c>ESC[6n</c> becomes <c>\x1b[6n</c>), CRLF becomes LF, and unpaired surrogates and
/// the non-characters U+FFFE/U+FFFF become U+FFFD.
/// </summary>
/// <remarks>
/// Guest consoles and QEMU's output carry terminal escapes (busybox ash asks for the cursor position after every
/// prompt). XML 1.0 cannot hold them at all, so one such byte in a failure message empties or truncates a CI's report,
/// and on a terminal they are obeyed rather than shown. Escaping keeps the evidence readable; the raw bytes stay in the
/// artifact files on disk.
/// </remarks>
internal static class PrintableText
{
    /// <summary>
    /// The printable form of <paramref name="text"/>; the same instance when nothing needs escaping, <c>""</c> for
    /// <see langword="null"/>.
    /// </summary>
    public static string Of(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        int first = FirstUnsafe(text);
        if (first < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        builder.Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                // CRLF: the line break stays a line break.
            }
            else if (IsSafe(c))
            {
                builder.Append(c);
            }
            else if (char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF')
            {
                builder.Append('\uFFFD');
            }
            else
            {
                builder.Append(Escape(c));
            }
        }

        return builder.ToString();
    }

    /// <summary>Whether <paramref name="text"/> is already printable (<see cref="Of"/> would return it unchanged).</summary>
    public static bool IsPrintable(string? text) => text is null || FirstUnsafe(text) < 0;

    private static int FirstUnsafe(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (!IsSafe(c))
            {
                return i;
            }
        }

        return -1;
    }

    // C0 controls (but tab and newline), DEL and the C1 controls (a terminal takes U+009B as CSI): all escaped.
    private static bool IsSafe(char c) =>
        c is '\t' or '\n' || (c >= ' ' && c < '\u007F') || (c > '\u009F' && !char.IsSurrogate(c) && c is not '\uFFFE' and not '\uFFFF');

    // Only C0, DEL and C1 controls get here, all below U+0100.
    private static string Escape(char c) =>
        c == '\r' ? "\\r" : "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture);
}
