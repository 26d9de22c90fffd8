using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>A reply or event the read loop matched to its waiter, handed over once the loop has moved on.</summary>
internal readonly record struct Delivery(PendingCall? Reply, JsonElement Message, EventWaiter? Waiter, QmpEvent? Event);
