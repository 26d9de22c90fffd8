using System.Text.Json;

namespace QemuTestKit.Qga;

/// <summary>The agent's version and the commands it has enabled, as <c>guest-info</c> reports them.</summary>
public sealed class QgaInfo
{
    internal QgaInfo(JsonElement raw)
    {
        Raw = raw;
        Version = raw.TryGetProperty("version", out JsonElement version) && version.ValueKind == JsonValueKind.String ? version.GetString()! : "";
        var enabled = new List<string>();
        if (raw.TryGetProperty("supported_commands", out JsonElement commands) && commands.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement command in commands.EnumerateArray())
            {
                if (command.ValueKind == JsonValueKind.Object
                    && command.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String
                    && !(command.TryGetProperty("enabled", out JsonElement on) && on.ValueKind == JsonValueKind.False))
                {
                    enabled.Add(name.GetString()!);
                }
            }
        }

        EnabledCommands = enabled;
    }

    /// <summary>The agent's version, e.g. <c>7.2.22</c>.</summary>
    public string Version { get; }

    /// <summary>The names of the commands the agent accepts (those not blocked with <c>--block-rpcs</c>).</summary>
    public IReadOnlyList<string> EnabledCommands { get; }

    /// <summary>The whole <c>"return"</c> object.</summary>
    public JsonElement Raw { get; }
}
