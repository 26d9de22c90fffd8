using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>
/// Someone waiting for the first new event that matches one of their (name, match) pairs. Completed like
/// <see cref="PendingCall"/>: synchronously, after the read loop has handed reading over.
/// </summary>
internal sealed class EventWaiter(IReadOnlyList<(string Name, JsonElement? Match)>? filters)
    : TaskCompletionSource<QmpEvent>(TaskCreationOptions.None)
{
    /// <summary>Whether <paramref name="ev"/> is what this waiter wants (any event when there are no filters).</summary>
    public bool Matches(QmpEvent ev)
    {
        if (filters is null)
        {
            return true;
        }

        foreach ((string name, JsonElement? match) in filters)
        {
            if (string.Equals(ev.Name, name, StringComparison.Ordinal) && QmpEventMatcher.Matches(ev.Message, match))
            {
                return true;
            }
        }

        return false;
    }
}
