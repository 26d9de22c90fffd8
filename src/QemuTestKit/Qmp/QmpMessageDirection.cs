namespace QemuTestKit.Qmp;

/// <summary>Which way a <see cref="QmpTranscriptEntry"/> went.</summary>
public enum QmpMessageDirection
{
    /// <summary>From QEMU to the client.</summary>
    Received,

    /// <summary>From the client to QEMU.</summary>
    Sent,
}
