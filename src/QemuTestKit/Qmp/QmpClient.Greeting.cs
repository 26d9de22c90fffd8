using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QemuTestKit.Qmp;

// The start of a connection: QEMU's greeting, then capabilities negotiation (out-of-band execution when asked for).
public sealed partial class QmpClient
{
    private async Task NegotiateAsync(CancellationToken cancellationToken)
    {
        _channel.ReadLoopStarted();
        StartReadLoop();
        TimeSpan? timeout = _options.CommandTimeout;
        QmpGreeting greeting;
        try
        {
            greeting = await _greeting.Task.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"QMP {_name}: no greeting within {timeout}. {StallText()}", ex);
        }

        bool oob = _options.EnableOob && greeting.Capabilities.Contains("oob", StringComparer.Ordinal);
        JsonObject? arguments = oob ? new JsonObject { ["enable"] = new JsonArray("oob") } : null;
        await ExecuteAsync("qmp_capabilities", arguments, cancellationToken).ConfigureAwait(false);
        OobEnabled = oob;

        // With OOB on, replies may overtake each other: match everything by id from now on.
        _sendIds = _options.SendCommandIds || oob;
        QmpLog.Connected(_logger, _name, greeting.Version, greeting.Capabilities);
    }

    private QmpGreeting ParseGreeting(JsonElement message, ReadOnlySequence<byte> line)
    {
        if (!message.TryGetProperty("QMP", out JsonElement qmp) || qmp.ValueKind != JsonValueKind.Object)
        {
            throw new QmpConnectionException($"QMP {_name}: expected the QMP greeting ({{\"QMP\": …}}) but got: {JsonLine.Preview(line)}");
        }

        int major = 0, minor = 0, micro = 0;
        string package = "";
        if (qmp.TryGetProperty("version", out JsonElement version) && version.ValueKind == JsonValueKind.Object)
        {
            if (version.TryGetProperty("qemu", out JsonElement qemu) && qemu.ValueKind == JsonValueKind.Object)
            {
                major = Int(qemu, "major");
                minor = Int(qemu, "minor");
                micro = Int(qemu, "micro");
            }

            if (version.TryGetProperty("package", out JsonElement p) && p.ValueKind == JsonValueKind.String)
            {
                package = p.GetString()!.Trim();
            }
        }

        var capabilities = new List<string>();
        if (qmp.TryGetProperty("capabilities", out JsonElement caps) && caps.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement cap in caps.EnumerateArray())
            {
                if (cap.ValueKind == JsonValueKind.String)
                {
                    capabilities.Add(cap.GetString()!);
                }
            }
        }

        return new QmpGreeting(new QmpVersion(major, minor, micro, package), capabilities, message);

        static int Int(JsonElement parent, string property) =>
            parent.TryGetProperty(property, out JsonElement v) && v.TryGetInt32(out int n) ? n : 0;
    }
}
