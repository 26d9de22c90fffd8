using System.Text.Json;

namespace QemuTestKit;

// The <c>network</c> section: user-mode networking or none.
internal static partial class ProfileJsonReader
{
    private static readonly string[] NetworkFields = ["mode", "model"];

    private static QemuProfileNetwork? ReadNetwork(Context ctx, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return ctx.OneOf("network", value, "user", "none") == "user" ? new QemuProfileNetwork() : null;
            case JsonValueKind.Object:
                var network = new QemuProfileNetwork();
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        // Only user mode: restrict=on is the point of this option, a tap or bridge NIC goes in "args".
                        case "mode": ctx.OneOf("network.mode", p.Value, "user"); break;
                        case "model": network = network with { Model = ctx.RequiredString("network.model", p.Value) }; break;
                        default: throw ctx.Error($"network.{p.Name}", $"is not a network field; known fields: {string.Join(", ", NetworkFields)}");
                    }
                }

                return network;
            default:
                throw ctx.Error("network", $"must be \"user\", \"none\", null or an object like {{ \"model\": \"virtio-net-pci\" }}; got {Describe(value)}");
        }
    }
}
