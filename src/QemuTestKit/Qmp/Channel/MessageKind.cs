namespace QemuTestKit.Qmp;

/// <summary>How a command message starts on the wire.</summary>
internal enum MessageKind
{
    /// <summary><c>{"execute": …}</c>.</summary>
    Execute,

    /// <summary><c>{"exec-oob": …}</c>: a QMP out-of-band command.</summary>
    ExecuteOutOfBand,

    /// <summary>A 0xFF byte, then <c>{"execute": …}</c>: the guest agent flushes its JSON parser when it reads 0xFF.</summary>
    FlushThenExecute,
}
