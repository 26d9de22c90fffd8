using QemuTestKit.Internal;

namespace QemuTestKit.Tests.Snapshots;

public sealed class SnapshotTextTests
{
    [Fact]
    public void Command_line_puts_one_argument_per_line_with_options_and_values_together()
    {
        string[] argv =
        [
            "/usr/bin/gdb", "--args", "/usr/bin/qemu-system-x86_64", "-display", "none", "-nodefaults", "-m", "256",
            "-no-reboot", "-S", "-append", "console=ttyS0 quiet", "-future-flag", "-kernel", "", "-name", "a\nb", "positional",
        ];

        string text = SnapshotText.CommandLine(argv, new SnapshotValues { QemuBinary = "/usr/bin/qemu-system-x86_64" });

        Assert.Equal(
            """
            /usr/bin/gdb
            --args
            {QemuBinary}
            -display none
            -nodefaults
            -m 256
            -no-reboot
            -S
            -append console=ttyS0 quiet
            -future-flag
            -kernel ""
            -name a\nb
            positional
            """.ReplaceLineEndings("\n"),
            text);
    }

    [Fact]
    public void Command_line_finds_qemu_after_a_wrapper_without_being_told_the_binary()
    {
        string text = SnapshotText.CommandLine(["valgrind", "/opt/q/bin/qemu-system-aarch64", "-M", "virt"]);

        Assert.Equal("valgrind\n/opt/q/bin/qemu-system-aarch64\n-M virt", text);
    }

    [Fact]
    public void Known_values_become_named_placeholders_longest_first()
    {
        var values = new SnapshotValues
        {
            QemuBinary = "/usr/bin/qemu-system-x86_64",
            TempDir = "/tmp/qemu-machine-a1b2",
            SockDir = "/tmp/qemu-machine-a1b2/sock",
            LogDir = "/var/log/qtk/",
            ConsoleLog = "/var/log/qtk/console.txt",
            Name = "qemu-4242-7f",
            Pid = 4242,
            MonitorPort = 45123,
            Placeholders = new Dictionary<string, string> { ["/src/repo/build/guest/out"] = "GuestDir" },
        };
        string[] argv =
        [
            "/usr/bin/qemu-system-x86_64",
            "-chardev", "socket,id=mon,path=/tmp/qemu-machine-a1b2/sock/qemu-4242-7f-monitor.sock",
            "-chardev", "socket,id=tcp,host=127.0.0.1,port=45123",
            "-kernel", "/src/repo/build/guest/out/vmlinuz",
            "-D", "/var/log/qtk/qemu.log", "-serial", "file:/var/log/qtk/console.txt",
            "-drive", "file=/tmp/qemu-machine-a1b2/disk.qcow2", "-m", "4242", "-pidfile", "/run/4242/qemu.pid",
        ];

        string text = SnapshotText.CommandLine(argv, values);

        Assert.Equal(
            """
            {QemuBinary}
            -chardev socket,id=mon,path={SockDir}/{Name}-monitor.sock
            -chardev socket,id=tcp,host=127.0.0.1,port={MonitorPort}
            -kernel {GuestDir}/vmlinuz
            -D {LogDir}/qemu.log
            -serial file:{ConsoleLog}
            -drive file={TempDir}/disk.qcow2
            -m 4242
            -pidfile /run/{Pid}/qemu.pid
            """.ReplaceLineEndings("\n"),
            text);
    }

    [Fact]
    public void The_same_configuration_gives_the_same_text_with_different_temp_dirs_names_and_pids()
    {
        static string Render(string tempDir, string name, int pid) => SnapshotText.CommandLine(
            ["/usr/bin/qemu-system-x86_64", "-chardev", $"socket,id=mon,path={tempDir}/{name}-monitor.sock", "-m", "256"],
            new SnapshotValues { TempDir = tempDir, SockDir = tempDir, Name = name, Pid = pid, QemuBinary = "/usr/bin/qemu-system-x86_64" });

        string first = Render("/tmp/qemu-machine-aaaa", "qemu-100-1", 100);
        string second = Render("/var/tmp/qemu-machine-zzzz9", "qemu-256-2", 256);

        Assert.Equal(first, second);
        Assert.Contains("-m 256", second, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_temp_and_socket_paths_are_scrubbed_in_command_lines_but_dates_stay()
    {
        string text = SnapshotText.CommandLine(
            ["qemu-system-x86_64", "-chardev", "socket,id=c,path=/run/user/0/vm.sock", "-drive", "file=/tmp/tmpx9/d.img", "-rtc", "base=2006-06-17T16:01:21"]);

        Assert.Equal("qemu-system-x86_64\n-chardev socket,id=c,path={Socket_1}\n-drive file={TempDir_1}/d.img\n-rtc base=2006-06-17T16:01:21", text);
    }

    [Fact]
    public void Console_log_loses_terminal_noise_and_run_specific_values()
    {
        const string raw = "[    0.812345] Run /init as init process\r\nQEMUTESTKIT-READY\r\nqtk# \u001b[6necho hi   \r\nhi\r\nqtk# \u001b[6n\r\n\r\n";

        string text = SnapshotText.ConsoleLog(raw);

        Assert.Equal("[{KernelTime}] Run /init as init process\nQEMUTESTKIT-READY\nqtk# echo hi\nhi\nqtk#", text);
    }

    [Fact]
    public void Qemu_log_names_the_known_paths_and_scrubs_pids()
    {
        const string raw = "qemu-system-x86_64: -drive file=/tmp/qemu-machine-q1/x.img: Could not open\nqemu-system-x86_64: terminating on signal 15 from pid 31337 (dotnet)\n";

        string text = SnapshotText.QemuLog(raw, new SnapshotValues { TempDir = "/tmp/qemu-machine-q1" });

        Assert.Equal("qemu-system-x86_64: -drive file={TempDir}/x.img: Could not open\nqemu-system-x86_64: terminating on signal 15 from pid {Pid_1} (dotnet)", text);
    }

    [Fact]
    public void Qmp_transcript_loses_times_timestamps_and_the_qemu_version()
    {
        const string raw =
            "14:20:06.123456 << {\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u16\"}, \"capabilities\": [\"oob\"]}}\n" +
            "14:20:06.124001 >> {\"execute\": \"qmp_capabilities\"}\n" +
            "14:20:06.124500 << {\"return\": {}}\n" +
            "14:20:07.000001 << {\"timestamp\": {\"seconds\": 1764166807, \"microseconds\": 1}, \"event\": \"STOP\"}\n";

        string text = SnapshotText.QmpTranscript(raw);

        Assert.Equal(
            """
            {Time} << {"QMP": {"version": {"qemu": {QemuVersion}, "package": "{QemuPackage}"}, "capabilities": ["oob"]}}
            {Time} >> {"execute": "qmp_capabilities"}
            {Time} << {"return": {}}
            {Time} << {"timestamp": {QmpTimestamp}, "event": "STOP"}
            """.ReplaceLineEndings("\n"),
            text);
    }
}
