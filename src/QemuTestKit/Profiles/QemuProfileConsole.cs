namespace QemuTestKit;

/// <summary>The serial console of a profile's VM: which device carries it.</summary>
/// <param name="Device">A QEMU device type for the console (for example <c>isa-serial</c>); null puts it on the
/// machine's first serial port (<c>-serial</c>), like QEMUMachine's <c>set_console()</c>.</param>
/// <param name="Index">Which console of that device type.</param>
public sealed record QemuProfileConsole(string? Device = null, int Index = 0);
