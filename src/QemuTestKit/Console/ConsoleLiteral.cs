using System.Text;
using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// Recognises a regular expression that matches exactly one fixed text, such as <c>Kernel panic</c> or what
/// <see cref="Regex.Escape"/> makes of a string, so the console can look for it with one combined search instead of running
/// the expression over every read.
/// </summary>
internal static class ConsoleLiteral
{
    // Options that do not change what a pattern without anchors, classes or quantifiers matches.
    private const RegexOptions Neutral = RegexOptions.CultureInvariant | RegexOptions.Compiled | RegexOptions.ExplicitCapture
        | RegexOptions.Multiline | RegexOptions.Singleline | RegexOptions.NonBacktracking;

    /// <summary>
    /// The text <paramref name="regex"/> matches if it is a plain literal (ordinary characters and escaped punctuation,
    /// <c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\f</c>, <c>\v</c>, <c>\e</c>), and at most <paramref name="maxLength"/> characters
    /// long; otherwise null. Conservative: anything it does not understand is not a literal.
    /// </summary>
    public static string? Of(Regex regex, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(regex);
        if ((regex.Options & ~Neutral) != 0)
        {
            return null;
        }

        string pattern = regex.ToString();
        var text = new StringBuilder(pattern.Length);
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                if (++i == pattern.Length || Escaped(pattern[i]) is not { } escaped)
                {
                    return null;
                }

                text.Append(escaped);
            }
            else if (c is '*' or '+' or '?' or '|' or '{' or '[' or '(' or ')' or '^' or '$' or '.')
            {
                return null;
            }
            else
            {
                text.Append(c);
            }
        }

        return text.Length is > 0 && text.Length <= maxLength ? text.ToString() : null;
    }

    private static char? Escaped(char c) => c switch
    {
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'f' => '\f',
        'v' => '\v',
        'e' => '\u001B',

        // An escaped ASCII punctuation character or space stands for itself; letters and digits are classes, anchors or
        // back-references, and anything else is left to the regular expression.
        _ when c < 128 && !char.IsAsciiLetterOrDigit(c) && c != '_' && !char.IsControl(c) => c,
        _ => null,
    };
}
