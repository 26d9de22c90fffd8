using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>What <see cref="QemuConsole.WaitForAsync(Regex, IEnumerable{Regex}?, TimeSpan?, CancellationToken)"/> found.</summary>
/// <param name="Match">The regular expression match (groups included) against the text from the wait's start.</param>
/// <param name="Index">Where the match starts in <see cref="QemuConsole.Text"/>.</param>
/// <param name="Before">The console text between the wait's start and the match.</param>
public sealed record ConsoleMatch(Match Match, int Index, string Before)
{
    /// <summary>The matched text.</summary>
    public string Value => Match.Value;
}
