namespace QemuTestKit.Xunit;

/// <summary>
/// Whether a class's VM is left running after the class, to look at (<c>QEMUTESTKIT_KEEP</c>, or
/// <see cref="QemuKeepVmsAttribute"/> on the test assembly).
/// </summary>
public enum VmKeep
{
    /// <summary>Never (the default): every VM is shut down after its class.</summary>
    Never,

    /// <summary>The VM of a class with a failed test stays running after the class (and after the test process).</summary>
    Failed,

    /// <summary>Every VM stays running after its class.</summary>
    Always,
}
