namespace QemuTestKit.Qga;

/// <summary>
/// One resynchronisation in progress: the random ids of every <c>guest-sync-delimited</c> it sent (a late answer to
/// an earlier attempt counts too), completed by the read loop when one of them comes back after the 0xFF marker.
/// </summary>
internal sealed class QgaSync() : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
{
    /// <summary>Guarded by the client's sync lock.</summary>
    public HashSet<long> Ids { get; } = [];
}
