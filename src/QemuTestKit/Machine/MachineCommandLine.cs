using System.Globalization;

namespace QemuTestKit;

/// <summary>
/// The base arguments a <see cref="QemuMachine"/> puts before the user's (QEMU's Python QEMUMachine's
/// <c>_base_args</c>): no display, the QMP monitor chardev, the machine type, and the console chardev and device.
/// </summary>
internal static class MachineCommandLine
{
    /// <summary>Where the console is and how it is attached; <see langword="null"/> for no console.</summary>
    /// <param name="UnixPath">The console socket QEMU serves, or <see langword="null"/> for TCP.</param>
    /// <param name="ListenHost">The TCP address QEMU listens on when <paramref name="UnixPath"/> is <see langword="null"/>.</param>
    /// <param name="Port">The TCP port QEMU listens on when <paramref name="UnixPath"/> is <see langword="null"/>.</param>
    /// <param name="DeviceType">The device to attach (e.g. <c>isa-serial</c>), or <see langword="null"/> for <c>-serial</c>.</param>
    internal sealed record ConsoleChardev(string? UnixPath, string ListenHost, int Port, string? DeviceType);

    /// <summary>Where the guest agent's chardev listens and which virtio-serial controller carries its port.</summary>
    /// <param name="UnixPath">The agent socket QEMU serves, or <see langword="null"/> for TCP.</param>
    /// <param name="ListenHost">The TCP address QEMU listens on when <paramref name="UnixPath"/> is <see langword="null"/>.</param>
    /// <param name="Port">The TCP port QEMU listens on when <paramref name="UnixPath"/> is <see langword="null"/>.</param>
    /// <param name="SerialDevice">The virtio-serial controller, e.g. <c>virtio-serial-pci</c>.</param>
    internal sealed record GuestAgentChardev(string? UnixPath, string ListenHost, int Port, string SerialDevice);

    /// <summary>The name of the guest agent's virtio-serial port; qemu-ga looks for it (<c>/dev/virtio-ports/org.qemu.guest_agent.0</c>).</summary>
    public const string GuestAgentPortName = "org.qemu.guest_agent.0";

    /// <summary>
    /// The base arguments. <paramref name="connectBack"/>: QEMU connects to a QMP socket the machine listens on
    /// (otherwise QEMU listens, <c>server=on,wait=off</c>).
    /// </summary>
    public static List<string> BaseArgs(QemuSocketAddress? monitor, bool connectBack, string? machineType, int consoleIndex, ConsoleChardev? console, GuestAgentChardev? agent = null)
    {
        List<string> args = ["-display", "none", "-vga", "none"];
        if (monitor is not null)
        {
            string chardev = monitor.IsUnix
                ? "socket,id=mon," + QemuOptionValue.Pair("path", monitor.Path!)
                : "socket,id=mon," + QemuOptionValue.Pair("host", monitor.Host!) + string.Create(CultureInfo.InvariantCulture, $",port={monitor.Port}");
            if (!connectBack)
            {
                chardev += ",server=on,wait=off";
            }

            args.AddRange(["-chardev", chardev, "-mon", "chardev=mon,mode=control"]);
        }

        if (machineType is not null)
        {
            args.AddRange(["-machine", machineType]);
        }

        for (int i = 0; i < consoleIndex; i++)
        {
            args.AddRange(["-serial", "null"]);
        }

        if (console is not null)
        {
            string where = Where(console.UnixPath, console.ListenHost, console.Port);
            args.AddRange(["-chardev", $"socket,id=console,{where},server=on,wait=off"]);
            if (console.DeviceType is null)
            {
                args.AddRange(["-serial", "chardev:console"]);
            }
            else
            {
                args.AddRange(["-device", console.DeviceType + ",chardev=console"]);
            }
        }

        if (agent is not null)
        {
            // Its own controller (ids of our own), so a profile's other virtio-serial devices and ports are not disturbed.
            args.AddRange(["-chardev", $"socket,id=qga0,{Where(agent.UnixPath, agent.ListenHost, agent.Port)},server=on,wait=off"]);
            args.AddRange(["-device", agent.SerialDevice + ",id=qga-serial0"]);
            args.AddRange(["-device", $"virtserialport,bus=qga-serial0.0,chardev=qga0,name={GuestAgentPortName}"]);
        }

        return args;
    }

    private static string Where(string? unixPath, string host, int port) => unixPath is not null
        ? QemuOptionValue.Pair("path", unixPath)
        : QemuOptionValue.Pair("host", host) + string.Create(CultureInfo.InvariantCulture, $",port={port}");
}
