namespace QemuTestKit.Xunit;

/// <summary>
/// The test assembly's default for keeping VMs after their class (<see cref="VmKeep"/>); the environment variable
/// <c>QEMUTESTKIT_KEEP</c> (<c>failed</c>, <c>always</c>, <c>never</c>, <c>clean</c>) wins over it.
/// </summary>
/// <param name="keep">When a VM is kept.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class QemuKeepVmsAttribute(VmKeep keep) : Attribute
{
    /// <summary>When a VM is kept.</summary>
    public VmKeep Keep { get; } = keep;
}
