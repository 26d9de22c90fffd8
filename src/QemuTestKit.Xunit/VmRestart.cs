namespace QemuTestKit.Xunit;

/// <summary>
/// When a class's VM is replaced by a fresh one before the next test (<see cref="QemuMachineAttribute.Restart"/>), so
/// one crash fails one test instead of every test after it.
/// </summary>
public enum VmRestart
{
    /// <summary>Never (the default): once the VM is gone, every later test of the class fails at once with the reason.</summary>
    Never,

    /// <summary>
    /// After the VM crashed: QEMU exited (other than the guest powering off cleanly), was killed, or stopped answering QMP
    /// after a failed test. The test where that was seen fails with what happened; the next test boots a new VM.
    /// </summary>
    AfterCrash,

    /// <summary>After any failed test, and after a crash: the next test gets a new VM, whatever state the failure left.</summary>
    AfterFailure,
}
