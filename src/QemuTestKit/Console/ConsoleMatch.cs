using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>What <see cref="QemuConsole.WaitForAsync(Regex, IEnumerable{Regex}?, TimeSpan?, CancellationToken)"/> found.</summary>
/// <param name="Match">The regular expression match (groups included) against the text from the wait's start.</param>
/// <param name="Index">
/// Where the match starts, in characters since the console connected (saturating at <see cref="int.MaxValue"/>). That is its
/// index in <see cref="QemuConsole.Text"/> until the console's window drops old text (see <see cref="QemuConsoleOptions.MaxTextLength"/>).
/// </param>
/// <param name="Before">
/// The console text between the wait's start and the match (its last <see cref="QemuConsoleOptions.MaxTextLength"/>
/// characters, if the window dropped the rest).
/// </param>
public sealed record ConsoleMatch(Match Match, int Index, string Before)
{
    /// <summary>The matched text.</summary>
    public string Value => Match.Value;

    /// <summary>Where the match ends, in characters since the console connected (not saturated: the shell helpers chain waits on it).</summary>
    internal long End { get; init; }
}
