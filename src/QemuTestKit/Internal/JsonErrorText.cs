using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace QemuTestKit.Internal;

/// <summary>
/// Says where a JSON syntax error is the way people and editors count: one-based line and character column, with the
/// line quoted. System.Text.Json counts lines and bytes from zero ("LineNumber: 1 | BytePositionInLine: 0").
/// Compiled into the runtime and, as a linked file, into the MSBuild tasks, which read the same user files.
/// </summary>
internal static partial class JsonErrorText
{
    /// <summary>"line 3, column 14: '}' is invalid …" and the line with a caret under the column.</summary>
    /// <param name="ex">The parser's exception.</param>
    /// <param name="text">The text that was parsed.</param>
    public static string Describe(JsonException ex, string text)
    {
        string reason = PositionSuffix().Replace(ex.Message, "");
        if (ex.LineNumber is not long lineIndex)
        {
            return reason;
        }

        string[] lines = text.Split('\n');
        string line = lineIndex < lines.Length ? lines[lineIndex].TrimEnd('\r') : "";
        long bytes = ex.BytePositionInLine ?? 0;
        int column = 0;
        while (column < line.Length && bytes > 0)
        {
            int width = char.IsSurrogatePair(line, column) ? 2 : 1;
            bytes -= Encoding.UTF8.GetByteCount(line.AsSpan(column, width));
            column += width;
        }

        return $"line {lineIndex + 1}, column {column + 1}: {reason}" + (line.Length == 0 ? "" : $"\n    {line}\n    {new string(' ', column)}^");
    }

    [GeneratedRegex(@"\s*(Path: \S*\s*\|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex PositionSuffix();
}
