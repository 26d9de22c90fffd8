using Microsoft.Extensions.Logging;

namespace QemuTestKit;

/// <summary>Warm start's log messages (source-generated, cheap when disabled).</summary>
internal static partial class WarmStartLog
{
    [LoggerMessage(101, LogLevel.Information, "warm start: {Message}")]
    public static partial void Step(ILogger logger, string message);

    [LoggerMessage(102, LogLevel.Warning, "warm start: {Message}")]
    public static partial void Warning(ILogger logger, string message);
}
