using System.Text.RegularExpressions;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Console;

/// <summary>One booted tiny guest shared by the tests of <see cref="GuestConsoleTests"/>; checks nothing is left at the end.</summary>
public sealed class BootedGuest : IAsyncLifetime
{
    private readonly LeakCheck _leaks = new();

    public string ConsoleLog { get; } = Path.Combine(Path.GetTempPath(), $"qtk-guest-console-{Guid.NewGuid():N}.log");

    public QemuMachine Machine { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Machine = MachineFactory.Guest(new QemuMachineOptions { ConsoleLogPath = ConsoleLog });
        await MachineFactory.BootAsync(Machine, TestContext.Current.CancellationToken);
        _leaks.Record(Machine);
    }

    public async ValueTask DisposeAsync()
    {
        await Machine.ShutdownAsync();
        await _leaks.AssertNothingLeftAsync();
        File.Delete(ConsoleLog);
    }
}

public sealed class GuestConsoleTests(BootedGuest guest) : IClassFixture<BootedGuest>
{
    private QemuConsole Console => guest.Machine.Console;

    [Fact(Timeout = 60_000)]
    public async Task RunAsync_returns_a_command_s_output()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.Equal("Linux", await Console.RunAsync("uname -s", cancellationToken: ct));
        Assert.Equal("42\nline two", await Console.RunAsync("echo $((6*7)); echo 'line two'", cancellationToken: ct));
        Assert.Equal("", await Console.RunAsync("true", cancellationToken: ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task ExecAsync_returns_exit_status_and_output()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        ConsoleExecResult ok = await Console.ExecAsync("echo hello; echo world", cancellationToken: ct);
        ConsoleExecResult failed = await Console.ExecAsync("ls /nonexistent", cancellationToken: ct);
        ConsoleExecResult status = await Console.ExecAsync("sh -c 'exit 42'", cancellationToken: ct);

        Assert.Equal(new ConsoleExecResult(0, "hello\nworld"), ok);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("No such file or directory", failed.Output, StringComparison.Ordinal);
        Assert.Equal(42, status.ExitCode);
        Assert.Equal("", status.Output);
    }

    [Fact(Timeout = 60_000)]
    public async Task ExecAsync_handles_long_commands_and_output_that_looks_like_markers()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string word = new('x', 150);
        ConsoleExecResult longLine = await Console.ExecAsync($"echo {word} | wc -c", cancellationToken: ct);
        ConsoleExecResult tricky = await Console.ExecAsync("echo '__QTK_ qtk# $ >'", cancellationToken: ct);
        ConsoleExecResult background = await Console.ExecAsync("sleep 0 &", cancellationToken: ct);
        // Reap the job here: otherwise the shell's "[1]+ Done" notice lands in whichever test of this class runs next.
        await Console.ExecAsync("wait", cancellationToken: ct);

        Assert.Equal("151", longLine.Output.Trim());
        Assert.Equal("__QTK_ qtk# $ >", tricky.Output);
        Assert.Equal(0, background.ExitCode);
    }

    [Fact(Timeout = 300_000)]
    public async Task Background_jobs_never_make_RunAsync_miss_the_end_of_a_command()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Regex defaultPrompt = Console.Prompt;

        // The prompt a profile sets (anchored at the end of the output): the one a job's output after it used to hide.
        QemuProfileMachine.ConfigureConsole(new QemuProfile("tiny-like") { Prompt = TestPrerequisites.Prompt }, Console);
        try
        {
            for (int i = 0; i < 30; i++)
            {
                // Generous bounds: each call returns in milliseconds; the old prompt race waited out the whole timeout.
                string started = await Console.RunAsync("echo bg-out &", TimeSpan.FromSeconds(30), ct);
                string next = await Console.RunAsync($"echo it-{i}", TimeSpan.FromSeconds(30), ct);

                // The job's line may land in either frame (it runs concurrently); nothing else may.
                Assert.All(started.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Equal("bg-out", line));
                Assert.Equal($"it-{i}", next.Split('\n').Where(line => line != "bg-out").Single());
            }

            await Console.ExecAsync("wait", TimeSpan.FromSeconds(30), ct);
        }
        finally
        {
            Console.Prompt = defaultPrompt;
            Console.FailurePatterns = [];
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_trailing_comment_or_a_multi_line_command_still_returns()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        ConsoleExecResult commented = await Console.ExecAsync("echo hi # a trailing comment", TimeSpan.FromSeconds(30), ct);
        string loop = await Console.RunAsync("for w in one two\ndo echo $w\ndone # and a comment", TimeSpan.FromSeconds(30), ct);
        ConsoleExecResult failed = await Console.ExecAsync("false # the status survives the comment", TimeSpan.FromSeconds(30), ct);

        Assert.Equal(new ConsoleExecResult(0, "hi"), commented);
        Assert.Equal("one\ntwo", loop);
        Assert.Equal(1, failed.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_console_log_has_the_boot_output()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await Console.RunAsync("echo logged-line", cancellationToken: ct);

        string log = await File.ReadAllTextAsync(guest.ConsoleLog, ct);
        Assert.Contains(TestPrerequisites.ReadyMarker, log, StringComparison.Ordinal);
        Assert.Contains("logged-line", log, StringComparison.Ordinal);
        Assert.Contains(TestPrerequisites.ReadyMarker, Console.Text, StringComparison.Ordinal);
    }
}

/// <summary>Console behaviour that ends the VM, one VM per test.</summary>
public sealed class GuestConsoleLifetimeTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_kernel_panic_fails_the_wait_at_once()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Guest();
        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        await machine.Console.SendLineAsync("echo c > /proc/sysrq-trigger", ct);
        var ex = await Assert.ThrowsAsync<QemuConsoleException>(
            () => machine.Console.WaitForAsync("never printed", ["Kernel panic"], TimeSpan.FromMinutes(10), ct));

        Assert.Contains("Kernel panic", ex.ConsoleTail, StringComparison.Ordinal);

        // panic=-1 reboots at once and -no-reboot turns that into an exit.
        await machine.WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task The_console_log_outlives_the_VM_and_the_text_stays_readable()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var logDir = new ScratchDirectory();
        string log = Path.Combine(logDir.Path, "console.log");
        await using QemuMachine machine = MachineFactory.Guest(new QemuMachineOptions { ConsoleLogPath = log });
        await MachineFactory.BootAsync(machine, ct);

        await machine.Console.SendLineAsync("echo bye-bye; poweroff", ct);
        await machine.WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Contains("bye-bye", await File.ReadAllTextAsync(log, ct), StringComparison.Ordinal);
        Assert.Contains("bye-bye", machine.Console.Text, StringComparison.Ordinal);
        Assert.False(machine.Console.IsConnected);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_console_on_a_device_and_a_later_index_works()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using var machine = new QemuMachine(TestPrerequisites.QemuBinary);
        machine.AddArgs(MachineFactory.GuestArgs("console=ttyS1 quiet panic=-1"));
        machine.SetConsole("isa-serial", consoleIndex: 1);
        await MachineFactory.BootAsync(machine, ct);

        Assert.Equal(["-serial", "null"], machine.CommandLine.SkipWhile(a => a != "-serial").Take(2));
        Assert.Equal("isa-serial,chardev=console", machine.CommandLine.SkipWhile(a => a != "-device").ElementAt(1));
        Assert.Equal("ttyS1", (await machine.Console.ExecAsync("cat /sys/class/tty/console/active", cancellationToken: ct)).Output);
        await machine.ShutdownAsync(cancellationToken: ct);
    }
}
