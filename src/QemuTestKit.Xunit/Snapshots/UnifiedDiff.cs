using System.Globalization;
using System.Text;
using DiffPlex;
using DiffPlex.Chunkers;
using DiffPlex.Model;

namespace QemuTestKit.Xunit;

/// <summary>A unified diff (<c>diff -u</c> format, 3 lines of context) of two texts, line by line, computed with DiffPlex.</summary>
internal static class UnifiedDiff
{
    private const int Context = 3;

    public static string Create(string oldText, string newText, string oldLabel, string newLabel)
    {
        DiffResult result = Differ.Instance.CreateDiffs(oldText, newText, ignoreWhiteSpace: false, ignoreCase: false, LineChunker.Instance);
        List<Line> lines = Lines(result);
        var output = new StringBuilder();
        output.Append("--- ").Append(oldLabel).Append('\n');
        output.Append("+++ ").Append(newLabel).Append('\n');

        int i = 0;
        while (i < lines.Count)
        {
            if (lines[i].Kind == ' ')
            {
                i++;
                continue;
            }

            // A hunk runs from this change to the last change that is at most 2×context lines after the previous one.
            int start = Math.Max(0, i - Context);
            int end = i;
            for (int j = i; j < lines.Count; j++)
            {
                if (lines[j].Kind != ' ')
                {
                    end = j;
                }
                else if (j - end > 2 * Context)
                {
                    break;
                }
            }

            end = Math.Min(lines.Count - 1, end + Context);
            AppendHunk(output, lines, start, end);
            i = end + 1;
        }

        return output.ToString().TrimEnd('\n');
    }

    private static void AppendHunk(StringBuilder output, List<Line> lines, int start, int end)
    {
        int oldCount = 0;
        int newCount = 0;
        for (int k = start; k <= end; k++)
        {
            oldCount += lines[k].Kind == '+' ? 0 : 1;
            newCount += lines[k].Kind == '-' ? 0 : 1;
        }

        // diff -u numbers from 1; an empty side names the line before it.
        int oldStart = lines[start].OldLine + (oldCount == 0 ? 0 : 1);
        int newStart = lines[start].NewLine + (newCount == 0 ? 0 : 1);
        output.Append(CultureInfo.InvariantCulture, $"@@ -{oldStart},{oldCount} +{newStart},{newCount} @@\n");
        for (int k = start; k <= end; k++)
        {
            output.Append(lines[k].Kind).Append(lines[k].Text).Append('\n');
        }
    }

    private static List<Line> Lines(DiffResult result)
    {
        var lines = new List<Line>();
        int a = 0;
        int b = 0;
        foreach (DiffBlock block in result.DiffBlocks)
        {
            for (; a < block.DeleteStartA; a++, b++)
            {
                lines.Add(new Line(' ', result.PiecesOld[a], a, b));
            }

            for (int k = 0; k < block.DeleteCountA; k++, a++)
            {
                lines.Add(new Line('-', result.PiecesOld[a], a, b));
            }

            for (int k = 0; k < block.InsertCountB; k++, b++)
            {
                lines.Add(new Line('+', result.PiecesNew[b], a, b));
            }
        }

        for (; a < result.PiecesOld.Count; a++, b++)
        {
            lines.Add(new Line(' ', result.PiecesOld[a], a, b));
        }

        return lines;
    }

    /// <summary>One line of the diff; OldLine/NewLine are the 0-based positions it stands at in each text.</summary>
    private readonly record struct Line(char Kind, string Text, int OldLine, int NewLine);
}
