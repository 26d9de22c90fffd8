using System.Text.Json;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Machine;

public sealed class LaunchTests
{
    [Fact(Timeout = 60_000)]
    public async Task Launch_negotiates_QMP_and_shutdown_cleans_up()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.True(machine.IsRunning);
        Assert.NotNull(machine.Pid);
        Assert.Null(machine.ExitCode);
        JsonElement status = await machine.CommandAsync("query-status", cancellationToken: ct);
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.Equal(TestPrerequisites.QemuBinary, machine.CommandLine[0]);
        Assert.Equal(["-display", "none", "-vga", "none", "-chardev"], machine.CommandLine.Skip(1).Take(5));
        Assert.Contains("chardev=mon,mode=control", machine.CommandLine);
        Assert.Equal(["-machine", "none"], machine.CommandLine.SkipWhile(a => a != "-machine").Take(2));

        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.False(machine.IsRunning);
        Assert.Null(machine.Pid);
        Assert.Equal(0, machine.ExitCode);
        Assert.NotNull(machine.Log);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Launching_a_launched_machine_is_an_error()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        int? pid = machine.Pid;

        var ex = await Assert.ThrowsAsync<QemuMachineException>(() => machine.LaunchAsync(ct));

        Assert.Contains("already launched", ex.Message, StringComparison.Ordinal);
        Assert.True(machine.IsRunning);
        Assert.Equal(pid, machine.Pid);
        await machine.ShutdownAsync(cancellationToken: ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_machine_can_be_launched_again_after_shutdown()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        string firstTemp = machine.TempDir;
        await machine.ShutdownAsync(cancellationToken: ct);

        await machine.LaunchAsync(ct);
        var leaks = new LeakCheck();
        leaks.Record(machine);

        Assert.NotEqual(firstTemp, machine.TempDir);
        Assert.Null(machine.Log);
        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_wrong_binary_path_is_a_clear_launch_error_and_leaves_nothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        await using var machine = new QemuMachine("/nonexistent/qemu-system-x86_64", new QemuMachineOptions { BaseTempDir = baseDir.Path });

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(ct));

        Assert.Contains("'/nonexistent/qemu-system-x86_64' was not found", ex.Message, StringComparison.Ordinal);
        Assert.Equal("/nonexistent/qemu-system-x86_64", ex.CommandLine[0]);
        Assert.False(machine.IsRunning);
        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task QEMU_exiting_early_throws_with_exit_code_command_line_and_output()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path });
        machine.AddArgs("-no-such-option");

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(ct));

        Assert.Equal(1, ex.ExitCode);
        Assert.Contains("-no-such-option", ex.CommandLine);
        Assert.Contains("invalid option", ex.Output, StringComparison.Ordinal);
        Assert.Contains("invalid option", ex.Message, StringComparison.Ordinal);
        Assert.Contains("exit code 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("invalid option", machine.Log, StringComparison.Ordinal);
        Assert.Equal(1, machine.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task QEMU_that_never_connects_fails_within_the_QMP_timer_and_is_killed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();

        // The wrapper replaces QEMU with a process that never connects.
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions
        {
            BaseTempDir = baseDir.Path,
            Wrapper = ["sh", "-c", "echo waiting-forever; exec sleep 600", "sh"],
            QmpTimer = TimeSpan.FromSeconds(2),
        });

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(() => machine.LaunchAsync(ct));

        Assert.Contains("did not connect to QMP", ex.Message, StringComparison.Ordinal);
        Assert.Contains("waiting-forever", ex.Output, StringComparison.Ordinal);
        Assert.Equal(-9, machine.ExitCode);
        Assert.False(machine.IsRunning);
        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task Wrapper_prefixes_the_command_line_and_its_output_lands_in_the_log()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions
        {
            Wrapper = ["sh", "-c", "echo from-wrapper >&2; exec \"$@\"", "sh"],
        });

        await machine.LaunchAsync(ct);
        Assert.Equal(["sh", "-c"], machine.CommandLine.Take(2));
        Assert.Equal(TestPrerequisites.QemuBinary, machine.CommandLine[4]);
        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.Equal(0, machine.ExitCode);
        Assert.Contains("from-wrapper", machine.Log, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Default_names_are_unique_and_temp_dirs_private()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine a = MachineFactory.Bare();
        await using QemuMachine b = MachineFactory.Bare();
        Assert.Matches($"^qemu-{Environment.ProcessId}-[0-9]+$", a.Name);
        Assert.NotEqual(a.Name, b.Name);

        await Task.WhenAll(a.LaunchAsync(ct), b.LaunchAsync(ct));

        Assert.NotEqual(a.TempDir, b.TempDir);
        Assert.StartsWith(Path.GetTempPath(), a.TempDir, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(a.TempDir));
        Assert.Equal(a.TempDir, a.SockDir);
        Assert.Equal(a.TempDir, a.LogDir);
        await Task.WhenAll(a.ShutdownAsync(cancellationToken: ct), b.ShutdownAsync(cancellationToken: ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Temp_dir_is_created_lazily_and_removed_even_without_launch()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = baseDir.Path });
        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));

        await machine.LaunchAsync(ct);
        Assert.Single(Directory.EnumerateDirectories(baseDir.Path));
        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task Log_and_sock_dirs_can_be_chosen_and_the_log_is_kept_there()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var logDir = new ScratchDirectory();
        using var sockDir = new ScratchDirectory();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { LogDir = logDir.Path, SockDir = sockDir.Path, Name = "named-vm" });

        await machine.LaunchAsync(ct);
        Assert.Equal(sockDir.Path, machine.SockDir);
        Assert.Contains($"path={sockDir.Path}/named-vm-monitor.sock", string.Join(' ', machine.CommandLine), StringComparison.Ordinal);
        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.True(File.Exists(Path.Combine(logDir.Path, "named-vm.log")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(sockDir.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task QMP_monitor_over_TCP_works()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { MonitorAddress = QemuSocketAddress.Tcp("127.0.0.1", 0) });

        await machine.LaunchAsync(ct);

        string chardev = machine.CommandLine[machine.CommandLine.ToList().IndexOf("-chardev") + 1];
        Assert.Matches("^socket,id=mon,host=127.0.0.1,port=[1-9][0-9]*$", chardev);
        JsonElement status = await machine.CommandAsync("query-status", cancellationToken: ct);
        Assert.True(status.GetProperty("running").GetBoolean());
        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_QMP_the_machine_runs_and_Qmp_is_an_error()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare();
        machine.SetQmpMonitor(false);
        machine.AddMonitorNull();

        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.DoesNotContain("-mon", machine.CommandLine);
        Assert.Equal(["-monitor", "null"], machine.Args);
        Assert.Throws<QemuMachineException>(() => machine.Qmp);
        await machine.KillAsync(ct);
        Assert.Equal(-9, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }
}
