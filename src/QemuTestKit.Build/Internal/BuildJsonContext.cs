using System.Text.Json.Serialization;
using QemuTestKit.Build.Images;

namespace QemuTestKit.Build.Internal;

/// <summary>The build's own bookkeeping files (not the manifest, which is written as a JSON tree).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(BinaryCacheEntry))]
[JsonSerializable(typeof(List<StagedImage>))]
internal sealed partial class BuildJsonContext : JsonSerializerContext
{
}
