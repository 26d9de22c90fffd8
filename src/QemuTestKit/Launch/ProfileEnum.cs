namespace QemuTestKit;

/// <summary>
/// The text form of the profile enums (<see cref="QemuRunner"/>, <see cref="QemuAccelerator"/>, <see cref="QemuDisplay"/>,
/// <see cref="QemuFirmware"/>): the member name in lower case, words joined by <c>-</c> (<c>VirtioGpu</c> is
/// <c>virtio-gpu</c>), as profile files, <c>QEMUTESTKIT_ACCEL</c> and QEMU's <c>-accel</c> spell them. The one parser of that text.
/// </summary>
internal static class ProfileEnum
{
    /// <summary>The text of a value: <c>kvm</c>, <c>container</c>.</summary>
    public static string Name<T>(T value)
        where T : struct, Enum
    {
        string member = value.ToString();
        var text = new System.Text.StringBuilder(member.Length + 2);
        for (int i = 0; i < member.Length; i++)
        {
            if (i > 0 && char.IsUpper(member[i]))
            {
                text.Append('-');
            }

            text.Append(char.ToLowerInvariant(member[i]));
        }

        return text.ToString();
    }

    /// <summary>Every allowed text, in declaration order.</summary>
    public static string[] Names<T>()
        where T : struct, Enum => [.. Enum.GetValues<T>().Select(Name)];

    /// <summary>Parses the exact text of a value (case-sensitive, as in a profile file); false for anything else.</summary>
    public static bool TryParse<T>(string? text, out T value)
        where T : struct, Enum
    {
        foreach (T candidate in Enum.GetValues<T>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.Ordinal))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Parses the text of a value.</summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="what">What the text is, for the message (for example <c>field 'runner'</c>).</param>
    /// <exception cref="FormatException">The text is not one of the allowed ones; the message names it and them.</exception>
    public static T Parse<T>(string? text, string what)
        where T : struct, Enum =>
        TryParse(text, out T value)
            ? value
            : throw new FormatException($"{what} is {(text is null ? "missing" : $"\"{text}\"")}; allowed: {string.Join(", ", Names<T>().Select(n => $"\"{n}\""))}.");
}
