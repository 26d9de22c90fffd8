using System.Text.RegularExpressions;

namespace QemuTestKit;

/// <summary>
/// One step that makes snapshot text stable: it replaces a part that differs between machines or runs
/// (a path, a timestamp, a process id, a random id) with a named placeholder such as <c>{TempDir}</c>.
/// </summary>
/// <remarks>
/// Scrubbers are applied in order, each to the output of the previous one. The scrubbers of one snapshot
/// share their numbering: the first distinct GUID becomes <c>{Guid_1}</c> wherever it appears, the second
/// <c>{Guid_2}</c>, so the same text always scrubs to the same result. The built-in scrubbers are static
/// properties of this class; <see cref="Defaults"/> lists the ones applied to every snapshot.
/// </remarks>
public sealed partial class Scrubber
{
    private readonly Func<string, ScrubContext, string> _apply;

    private Scrubber(string name, Func<string, ScrubContext, string> apply)
    {
        Name = name;
        _apply = apply;
    }

    /// <summary>A short name that says what the scrubber replaces; shown in diagnostics.</summary>
    public string Name { get; }

    /// <summary>Creates a scrubber from any text transformation.</summary>
    /// <param name="name">What it replaces, for diagnostics.</param>
    /// <param name="scrub">Receives the text and returns it scrubbed; it must be deterministic.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="scrub"/> is null.</exception>
    public static Scrubber Create(string name, Func<string, string> scrub)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(scrub);
        return new Scrubber(name, (text, _) => scrub(text));
    }

    /// <summary>Replaces every occurrence of <paramref name="value"/> (ordinal comparison) with <paramref name="replacement"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="replacement"/> is null.</exception>
    public static Scrubber Replace(string value, string replacement)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        ArgumentNullException.ThrowIfNull(replacement);
        return new Scrubber($"replace '{value}'", (text, _) => text.Replace(value, replacement, StringComparison.Ordinal));
    }

    /// <summary>
    /// Replaces every match of <paramref name="pattern"/> with <paramref name="replacement"/>, which may use
    /// the substitutions of <see cref="Regex.Replace(string, string)"/> (<c>$1</c>, <c>${name}</c>).
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static Scrubber Pattern(Regex pattern, string replacement)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(replacement);
        return new Scrubber($"pattern '{pattern}'", (text, _) => pattern.Replace(text, replacement));
    }

    /// <summary>
    /// Replaces every match of <paramref name="pattern"/> with a numbered placeholder <c>{Category_N}</c>:
    /// N counts distinct matched values in order of first appearance, so equal values get equal placeholders.
    /// </summary>
    /// <param name="pattern">What to replace.</param>
    /// <param name="category">The placeholder's name, e.g. <c>Session</c> gives <c>{Session_1}</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pattern"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="category"/> is null or empty.</exception>
    public static Scrubber Numbered(Regex pattern, string category)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentException.ThrowIfNullOrEmpty(category);
        return new Scrubber($"numbered {category}", (text, context) => pattern.Replace(text, m => context.Number(category, m.Value)));
    }

    /// <summary>Removes every line for which <paramref name="predicate"/> returns true (lines that only some runs print).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
    public static Scrubber RemoveLines(Func<string, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new Scrubber("remove lines", (text, _) =>
        {
            string[] lines = text.Split('\n');
            return string.Join('\n', lines.Where(line => !predicate(line.TrimEnd('\r'))));
        });
    }

    /// <summary>Applies this scrubber alone to <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public string Scrub(string text) => Apply(text, [this]);

    /// <summary>
    /// Applies <paramref name="scrubbers"/> in order to <paramref name="text"/>, sharing one numbering of
    /// placeholders such as <c>{Guid_1}</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static string Apply(string text, IEnumerable<Scrubber> scrubbers)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(scrubbers);
        var context = new ScrubContext();
        foreach (Scrubber scrubber in scrubbers)
        {
            text = scrubber._apply(text, context);
        }

        return text;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    internal static Scrubber CreateWithContext(string name, Func<string, ScrubContext, string> apply) => new(name, apply);
}
