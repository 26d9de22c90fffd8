using QemuTestKit;

// usage: QemuTestKit.Tests.OrphanHost <qemu binary> <base temp dir>
// Prints "QEMU-PID <pid>" once QEMU runs, then waits to be killed.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: QemuTestKit.Tests.OrphanHost <qemu binary> <base temp dir>");
    return 2;
}

var machine = new QemuMachine(args[0], new QemuMachineOptions { BaseTempDir = args[1] });
machine.SetMachine("none");
await machine.LaunchAsync();
Console.WriteLine($"QEMU-PID {machine.Pid}");
Console.Out.Flush();
await Task.Delay(Timeout.Infinite);
return 0;
