using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>The greeting QEMU sends when a QMP connection opens.</summary>
/// <param name="Version">QEMU's version.</param>
/// <param name="Capabilities">The capabilities QEMU offers (e.g. <c>oob</c>).</param>
/// <param name="Message">The whole greeting message as received.</param>
public sealed record QmpGreeting(QmpVersion Version, IReadOnlyList<string> Capabilities, JsonElement Message);
