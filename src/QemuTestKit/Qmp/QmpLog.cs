using Microsoft.Extensions.Logging;

namespace QemuTestKit.Qmp;

/// <summary>The QMP client's log messages (source-generated: no cost when the level is off).</summary>
internal static partial class QmpLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "QMP {Name}: connected, QEMU {Version}, capabilities [{Capabilities}]")]
    public static partial void Connected(ILogger logger, string name, QmpVersion version, IReadOnlyList<string> capabilities);

    [LoggerMessage(EventId = 2, Level = LogLevel.Trace, Message = "QMP {Name} >> {Text}")]
    public static partial void Sent(ILogger logger, string name, Utf8Text text);

    [LoggerMessage(EventId = 3, Level = LogLevel.Trace, Message = "QMP {Name} << {Text}")]
    public static partial void Received(ILogger logger, string name, System.Text.Json.JsonElement text);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "QMP {Name}: reply with no pending command (late reply after a timeout or cancel, or an id we never sent): {Text}")]
    public static partial void UnknownReply(ILogger logger, string name, string text);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "QMP {Name}: message of unknown kind ignored: {Text}")]
    public static partial void UnknownMessage(ILogger logger, string name, string text);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "QMP {Name}: connection closed (expected)")]
    public static partial void ClosedExpected(ILogger logger, string name);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "QMP {Name}: connection lost")]
    public static partial void ClosedUnexpected(ILogger logger, string name, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "QMP {Name}: passed file descriptor {Fd} over SCM_RIGHTS")]
    public static partial void FdSent(ILogger logger, string name, long fd);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "QMP {Name}: event {Event}")]
    public static partial void Event(ILogger logger, string name, string @event);
}
