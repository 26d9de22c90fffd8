using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>An asynchronous QMP event, e.g. <c>STOP</c> or <c>SHUTDOWN</c>.</summary>
/// <param name="Name">The event name (<c>"event"</c>).</param>
/// <param name="Data">The event's <c>"data"</c> object; an empty object when QEMU sent none.</param>
/// <param name="Timestamp">QEMU's <c>"timestamp"</c>, or the arrival time when QEMU sent none.</param>
/// <param name="Message">The whole event message; <see cref="QmpEventMatcher"/> matches against this, as QEMU's Python QEMUMachine does.</param>
public sealed record QmpEvent(string Name, JsonElement Data, DateTimeOffset Timestamp, JsonElement Message)
{
    /// <summary>The raw JSON of the event.</summary>
    public override string ToString() => Message.GetRawText();
}
