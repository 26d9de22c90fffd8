using Microsoft.Extensions.Logging;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Machine;

/// <summary>Machines for the tests: a bare QEMU (<c>-machine none</c>) or the tiny guest on a console.</summary>
internal static class MachineFactory
{
    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);

    public static QemuMachine Bare(QemuMachineOptions? options = null)
    {
        var machine = new QemuMachine(TestPrerequisites.QemuBinary, options);
        machine.SetMachine("none");
        return machine;
    }

    public static QemuMachine Guest(QemuMachineOptions? options = null, string append = TestPrerequisites.Append)
    {
        // The files its arguments name, as data: a launcher that runs QEMU elsewhere shares or copies them.
        var machine = new QemuMachine(TestPrerequisites.QemuBinary, (options ?? new QemuMachineOptions()) with { HostFiles = [TestPrerequisites.Kernel, TestPrerequisites.Initrd] });
        machine.AddArgs(GuestArgs(append));
        machine.SetConsole();
        return machine;
    }

    public static string[] GuestArgs(string append = TestPrerequisites.Append) =>
    [
        "-m", "256", "-nodefaults", "-no-reboot",
        "-kernel", TestPrerequisites.Kernel, "-initrd", TestPrerequisites.Initrd,
        "-append", append,
    ];

    /// <summary>Launches the guest and waits for its shell prompt.</summary>
    public static async Task BootAsync(QemuMachine machine, CancellationToken cancellationToken)
    {
        await machine.LaunchAsync(cancellationToken);
        await machine.Console.WaitForAsync(TestPrerequisites.ReadyMarker, ["Kernel panic"], BootTimeout, cancellationToken);
        await machine.Console.WaitForAsync(TestPrerequisites.Prompt, null, BootTimeout, cancellationToken);
    }
}

/// <summary>Collects log messages so tests can assert on warnings (e.g. a signal nobody sent).</summary>
internal sealed class ListLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
