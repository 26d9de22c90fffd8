using System.Globalization;
using System.Reflection;
using System.Text;

namespace QemuTestKit.Xunit;

/// <summary>
/// Where one snapshot lives: <c>&lt;Class&gt;.&lt;Method&gt;[_&lt;param&gt;=&lt;value&gt;…][.&lt;name&gt;].verified.txt</c>
/// in the folder of the test's source file (Verify's naming), and the <c>.received.txt</c> beside it.
/// </summary>
internal sealed record SnapshotFile(string Directory, string Stem)
{
    private const int MaxValueLength = 48;

    public string VerifiedPath => Path.Combine(Directory, Stem + ".verified.txt");

    public string ReceivedPath => Path.Combine(Directory, Stem + ".received.txt");

    public static string StemFor(Type testClass, MethodBase method, IReadOnlyList<object?> arguments, string? name)
    {
        var stem = new StringBuilder(ClassName(testClass)).Append('.').Append(method.Name);
        ParameterInfo[] parameters = method.GetParameters();
        for (int i = 0; i < parameters.Length && i < arguments.Count; i++)
        {
            stem.Append('_').Append(parameters[i].Name).Append('=').Append(Sanitize(Format(arguments[i])));
        }

        if (name is not null)
        {
            if (name.Length == 0 || Sanitize(name) != name)
            {
                throw new ArgumentException(
                    $"The snapshot name '{name}' cannot be part of a file name: use letters, digits, '-', '_' or '.'.", nameof(name));
            }

            stem.Append('.').Append(name);
        }

        return stem.ToString();
    }

    // Nested classes read as Outer.Inner, like Verify; generic classes drop their arity suffix.
    private static string ClassName(Type type)
    {
        string own = type.Name.Split('`')[0];
        return type.DeclaringType is null ? own : ClassName(type.DeclaringType) + "." + own;
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => s,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    // Only characters that are safe in file names on every OS the test sources may be checked out on.
    private static string Sanitize(string value)
    {
        var safe = new StringBuilder(Math.Min(value.Length, MaxValueLength));
        foreach (char c in value)
        {
            if (safe.Length == MaxValueLength)
            {
                break;
            }

            safe.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '=' or '+' or ',' ? c : '-');
        }

        return safe.Length == 0 ? "empty" : safe.ToString();
    }
}
