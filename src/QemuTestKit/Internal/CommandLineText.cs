namespace QemuTestKit.Internal;

/// <summary>Renders command lines and output tails for messages and logs.</summary>
internal static class CommandLineText
{
    /// <summary>Joins arguments, quoting those a shell would split, so the line can be pasted into a terminal.</summary>
    public static string Format(IEnumerable<string> arguments) => string.Join(' ', arguments.Select(Quote));

    public static string Quote(string argument)
    {
        if (argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_=,.:/@+%".Contains(c, StringComparison.Ordinal)))
        {
            return argument;
        }

        return "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>The last <paramref name="lines"/> lines of <paramref name="text"/>.</summary>
    public static string Tail(string text, int lines)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "(empty)";
        }

        string[] all = text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n');
        return all.Length <= lines
            ? string.Join('\n', all)
            : $"(… {all.Length - lines} earlier lines)\n" + string.Join('\n', all[^lines..]);
    }
}
