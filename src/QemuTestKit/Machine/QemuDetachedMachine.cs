namespace QemuTestKit;

/// <summary>
/// A QEMU that <see cref="QemuMachine.DetachAsync"/> left running on its own: how to reach it from another process and
/// how to stop it.
/// </summary>
/// <param name="Pid">QEMU's process id.</param>
/// <param name="SocketDirectory">The folder holding its sockets (not removed by the kit; remove it after stopping QEMU).</param>
/// <param name="ConsoleSocket">The serial console QEMU serves (one client at a time), or <see langword="null"/> without a console.</param>
/// <param name="QmpSocket">The QMP monitor QEMU serves (one client at a time).</param>
/// <param name="GdbSocket">The gdb stub's socket, or <see langword="null"/> when the stub is off.</param>
public sealed record QemuDetachedMachine(int Pid, string SocketDirectory, string? ConsoleSocket, string QmpSocket, string? GdbSocket);
