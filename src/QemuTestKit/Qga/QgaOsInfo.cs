using System.Text.Json;

namespace QemuTestKit.Qga;

/// <summary>The guest's operating system as <c>guest-get-osinfo</c> reports it; a field the agent left out is <see langword="null"/>.</summary>
public sealed class QgaOsInfo
{
    internal QgaOsInfo(JsonElement raw)
    {
        Raw = raw;
        KernelRelease = Text(raw, "kernel-release");
        KernelVersion = Text(raw, "kernel-version");
        Machine = Text(raw, "machine");
        Id = Text(raw, "id");
        Name = Text(raw, "name");
        PrettyName = Text(raw, "pretty-name");
        Version = Text(raw, "version");
        VersionId = Text(raw, "version-id");
    }

    /// <summary>The kernel release, e.g. <c>6.1.0-28-cloud-amd64</c> (<c>uname -r</c>).</summary>
    public string? KernelRelease { get; }

    /// <summary>The kernel version string (<c>uname -v</c>).</summary>
    public string? KernelVersion { get; }

    /// <summary>The machine hardware name, e.g. <c>x86_64</c> (<c>uname -m</c>).</summary>
    public string? Machine { get; }

    /// <summary>The distribution id, e.g. <c>debian</c> (os-release <c>ID</c>).</summary>
    public string? Id { get; }

    /// <summary>The distribution name, e.g. <c>Debian GNU/Linux</c> (os-release <c>NAME</c>).</summary>
    public string? Name { get; }

    /// <summary>The distribution's display name (os-release <c>PRETTY_NAME</c>).</summary>
    public string? PrettyName { get; }

    /// <summary>The distribution version (os-release <c>VERSION</c>).</summary>
    public string? Version { get; }

    /// <summary>The distribution version id (os-release <c>VERSION_ID</c>).</summary>
    public string? VersionId { get; }

    /// <summary>The whole <c>"return"</c> object, for fields not mapped here.</summary>
    public JsonElement Raw { get; }

    private static string? Text(JsonElement raw, string name) =>
        raw.ValueKind == JsonValueKind.Object && raw.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
