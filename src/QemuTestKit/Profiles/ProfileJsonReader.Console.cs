using System.Text.Json;

namespace QemuTestKit;

// The <c>console</c> section: which serial device carries the console, or none.
internal static partial class ProfileJsonReader
{
    private static QemuProfileConsole? ReadConsole(Context ctx, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
            case JsonValueKind.False:
                return null;
            case JsonValueKind.True:
                return new QemuProfileConsole();
            case JsonValueKind.Object:
                string? device = null;
                int index = 0;
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "device": device = ctx.String("console.device", p.Value); break;
                        case "index": index = ctx.NonNegativeInt("console.index", p.Value); break;
                        default: throw ctx.Error($"console.{p.Name}", "is not a console field; known fields: device, index");
                    }
                }

                return new QemuProfileConsole(device, index);
            default:
                throw ctx.Error("console", $"must be an object like {{ \"device\": null, \"index\": 0 }}, true, or null; got {Describe(value)}");
        }
    }
}
