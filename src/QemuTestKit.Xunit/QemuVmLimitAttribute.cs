namespace QemuTestKit.Xunit;

/// <summary>
/// Sets how many QemuTestKit VMs may run at once in this test assembly; a class waits for a free slot before it boots.
/// The environment variable <c>QEMUTESTKIT_MAX_VMS</c> overrides it. Without either, the limit is the smaller of the
/// processor count and the memory in units of 512 MiB (at least 1).
/// </summary>
/// <param name="maxRunningVms">The most VMs that may run at once; at least 1.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class QemuVmLimitAttribute(int maxRunningVms) : Attribute
{
    /// <summary>The most VMs that may run at once.</summary>
    public int MaxRunningVms { get; } = maxRunningVms;
}
