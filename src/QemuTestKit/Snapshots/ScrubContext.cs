namespace QemuTestKit;

/// <summary>
/// The numbering shared by the scrubbers of one snapshot: a value seen again gets the placeholder it got
/// the first time, so the output depends only on the input text, never on the order of runs.
/// </summary>
internal sealed class ScrubContext
{
    private readonly Dictionary<string, Dictionary<string, int>> _numbers = new(StringComparer.Ordinal);

    public string Number(string category, string value)
    {
        if (!_numbers.TryGetValue(category, out Dictionary<string, int>? seen))
        {
            seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            _numbers.Add(category, seen);
        }

        if (!seen.TryGetValue(value, out int number))
        {
            number = seen.Count + 1;
            seen.Add(value, number);
        }

        return "{" + category + "_" + number.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}";
    }
}
