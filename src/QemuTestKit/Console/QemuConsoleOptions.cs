using Microsoft.Extensions.Logging;

namespace QemuTestKit;

/// <summary>Settings of a <see cref="QemuConsole"/>.</summary>
public sealed record QemuConsoleOptions
{
    /// <summary>A file that receives every byte the console prints (truncated on connect, kept after the VM is gone).</summary>
    public string? LogPath { get; init; }

    /// <summary>Receives connection and log-file problems.</summary>
    public ILogger? Logger { get; init; }
}
