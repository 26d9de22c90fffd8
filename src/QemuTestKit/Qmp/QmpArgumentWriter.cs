using System.Collections;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QemuTestKit.Qmp;

/// <summary>Writes a command's <c>"arguments"</c> object from whatever shape the caller used.</summary>
internal static class QmpArgumentWriter
{
    internal static readonly JsonSerializerOptions SerializerOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="arguments"/> as a JSON object; <paramref name="convertKeys"/> applies to dictionaries and plain objects.</summary>
    /// <exception cref="ArgumentException">The arguments are not an object.</exception>
    public static void Write(Utf8JsonWriter writer, object arguments, bool convertKeys)
    {
        switch (arguments)
        {
            case JsonElement element:
                RequireObject(element.ValueKind == JsonValueKind.Object, element.ValueKind.ToString(), nameof(arguments));
                element.WriteTo(writer);
                break;
            case JsonNode node:
                RequireObject(node is JsonObject, node.GetValueKind().ToString(), nameof(arguments));
                node.WriteTo(writer, SerializerOptions);
                break;
            case JsonDocument document:
                Write(writer, document.RootElement, convertKeys);
                break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                writer.WriteStartObject();
                foreach (KeyValuePair<string, object?> pair in pairs)
                {
                    writer.WritePropertyName(Key(pair.Key, convertKeys));
                    WriteValue(writer, pair.Value);
                }

                writer.WriteEndObject();
                break;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    string key = entry.Key as string ?? throw new ArgumentException("QMP argument dictionaries need string keys.", nameof(arguments));
                    writer.WritePropertyName(Key(key, convertKeys));
                    WriteValue(writer, entry.Value);
                }

                writer.WriteEndObject();
                break;
            default:
                // Anonymous objects and records: let System.Text.Json read the properties, then rename the top level.
                JsonElement serialized = JsonSerializer.SerializeToElement(arguments, arguments.GetType(), SerializerOptions);
                RequireObject(serialized.ValueKind == JsonValueKind.Object, serialized.ValueKind.ToString(), nameof(arguments));
                writer.WriteStartObject();
                foreach (JsonProperty property in serialized.EnumerateObject())
                {
                    writer.WritePropertyName(Key(property.Name, convertKeys));
                    property.Value.WriteTo(writer);
                }

                writer.WriteEndObject();
                break;
        }
    }

    /// <summary>Turns a match/argument value into a <see cref="JsonElement"/> (no key conversion).</summary>
    public static JsonElement? ToElement(object? value) => value switch
    {
        null => null,
        JsonElement element => element,
        JsonDocument document => document.RootElement,
        _ => JsonSerializer.SerializeToElement(value, value.GetType(), SerializerOptions),
    };

    /// <summary>QEMU's Python QEMUMachine's <c>conv_keys</c>: <c>_</c> becomes <c>-</c>, top level only.</summary>
    public static string Key(string key, bool convert) => convert && key.Contains('_', StringComparison.Ordinal) ? key.Replace('_', '-') : key;

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            default:
                JsonSerializer.Serialize(writer, value, value.GetType(), SerializerOptions);
                break;
        }
    }

    private static void RequireObject(bool isObject, string kind, string paramName)
    {
        if (!isObject)
        {
            throw new ArgumentException($"QMP arguments must be a JSON object, not {kind}.", paramName);
        }
    }
}
