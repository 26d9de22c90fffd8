using Microsoft.Extensions.Logging;

namespace QemuTestKit.Qga;

/// <summary>The guest agent client's log messages (source-generated: no cost when the level is off).</summary>
internal static partial class QgaLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Guest agent {Name}: synchronised (id {Id})")]
    public static partial void Synced(ILogger logger, string name, long id);

    [LoggerMessage(EventId = 102, Level = LogLevel.Trace, Message = "Guest agent {Name} >> {Text}")]
    public static partial void Sent(ILogger logger, string name, QemuTestKit.Qmp.Utf8Text text);

    [LoggerMessage(EventId = 103, Level = LogLevel.Trace, Message = "Guest agent {Name} << {Text}")]
    public static partial void Received(ILogger logger, string name, System.Text.Json.JsonElement text);

    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "Guest agent {Name}: stale data skipped ({Why}): {Text}")]
    public static partial void Stale(ILogger logger, string name, string why, string text);

    [LoggerMessage(EventId = 107, Level = LogLevel.Debug, Message = "Guest agent {Name}: stale message skipped ({Why}): {Message}")]
    public static partial void StaleMessage(ILogger logger, string name, string why, System.Text.Json.JsonElement message);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Guest agent {Name}: file handle {Handle} could not be closed after a failure")]
    public static partial void HandleNotClosed(ILogger logger, string name, long handle, Exception exception);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "Guest agent {Name}: connection closed (expected)")]
    public static partial void ClosedExpected(ILogger logger, string name);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Guest agent {Name}: connection lost")]
    public static partial void ClosedUnexpected(ILogger logger, string name, Exception exception);
}
