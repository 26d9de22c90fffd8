namespace QemuTestKit;

/// <summary>Whether QEMU serves its gdb stub (<c>QemuMachineOptions.GdbStub</c>, profile option <c>"gdb"</c>, <c>QEMUTESTKIT_GDB</c>).</summary>
public enum QemuGdbStub
{
    /// <summary>No gdb stub (the default).</summary>
    Off,

    /// <summary>The gdb stub on a private unix socket; the guest runs at once.</summary>
    On,

    /// <summary>
    /// The gdb stub, and the CPUs stopped at the first instruction (<c>-S</c>) until the debugger continues (or QMP
    /// <c>cont</c>): the boot waits for that without its boot timeout.
    /// </summary>
    Halt,
}
