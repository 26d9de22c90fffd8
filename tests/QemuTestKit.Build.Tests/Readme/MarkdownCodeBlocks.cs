using System.Text.RegularExpressions;

namespace QemuTestKit.Build.Tests.Readme;

/// <summary>A fenced code block of a Markdown file: its language, the words after it, its text and where it starts.</summary>
internal sealed record MarkdownCodeBlock(string Language, IReadOnlyList<string> Flags, string Code, int Line, string Section)
{
    public override string ToString() => $"line {Line} ({Section})";
}

/// <summary>Reads the fenced code blocks of a Markdown file, including blocks indented inside list items.</summary>
internal static partial class MarkdownCodeBlocks
{
    public static IReadOnlyList<MarkdownCodeBlock> Read(string markdown)
    {
        var blocks = new List<MarkdownCodeBlock>();
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        string section = "";
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("## ", StringComparison.Ordinal))
            {
                section = lines[i][3..].Trim();
            }

            Match open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            string indent = open.Groups["indent"].Value;
            string[] info = open.Groups["info"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var code = new List<string>();
            int start = i + 1;
            for (i++; i < lines.Length && lines[i].Trim() != "```"; i++)
            {
                // A block inside a list item is indented with the fence; that indentation is not part of the code.
                code.Add(lines[i].StartsWith(indent, StringComparison.Ordinal) ? lines[i][indent.Length..] : lines[i]);
            }

            blocks.Add(new MarkdownCodeBlock(info.FirstOrDefault() ?? "", info.Skip(1).ToArray(), string.Join('\n', code) + "\n", start, section));
        }

        return blocks;
    }

    [GeneratedRegex(@"^(?<indent>\s*)```(?<info>\S.*)$")]
    private static partial Regex Fence();
}
