using QemuTestKit;

// usage: QemuTestKit.Tests.OrphanHost <qemu binary> <base temp dir> [wrapper]
// Prints "TEMP-DIR <path>" and "QEMU-PID <pid>" (the wrapper's pid when there is one) once QEMU runs, then waits to be killed.
if (args.Length is not (2 or 3))
{
    Console.Error.WriteLine("usage: QemuTestKit.Tests.OrphanHost <qemu binary> <base temp dir> [wrapper]");
    return 2;
}

var machine = new QemuMachine(args[0], new QemuMachineOptions { BaseTempDir = args[1], Wrapper = args.Length == 3 ? [args[2]] : [] });
machine.SetMachine("none");
await machine.LaunchAsync();
Console.WriteLine($"TEMP-DIR {machine.TempDir}");
Console.WriteLine($"QEMU-PID {machine.Pid}");
Console.Out.Flush();
await Task.Delay(Timeout.Infinite);
return 0;
