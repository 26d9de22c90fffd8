using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// The Python <c>QEMUMachine.event_match</c>: does <c>value</c> contain the sub-dictionary <c>match</c>?
/// </summary>
/// <remarks>
/// A <see langword="null"/> match (or JSON <c>null</c> anywhere inside it) matches anything. For objects every
/// key of the match must be present in the value and match recursively; extra keys in the value are ignored.
/// Anything else (numbers, strings, booleans, arrays) must be equal as JSON. As in QEMU's Python QEMUMachine, one cannot ask for
/// an explicit <c>null</c>.
/// Examples: <c>{"foo": null}</c> matches <c>{"foo": {"bar": 1}}</c>; <c>{"foo": {"abc": null}}</c> does not
/// match <c>{"foo": {"bar": 1}}</c>; <c>{"foo": {"rab": 2}}</c> matches <c>{"foo": {"bar": 1, "rab": 2}}</c>.
/// </remarks>
public static class QmpEventMatcher
{
    /// <summary>Whether <paramref name="value"/> matches <paramref name="match"/> (see the class remarks).</summary>
    public static bool Matches(JsonElement value, JsonElement? match)
    {
        if (match is not { } m || m.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return true;
        }

        if (m.ValueKind == JsonValueKind.Object)
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (JsonProperty property in m.EnumerateObject())
            {
                if (!value.TryGetProperty(property.Name, out JsonElement child) || !Matches(child, property.Value))
                {
                    return false;
                }
            }

            return true;
        }

        return JsonElement.DeepEquals(value, m);
    }
}
