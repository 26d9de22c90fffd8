using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Launch;

/// <summary>
/// The machines a test booted: shut down gracefully at the end of the test (each must exit 0, nothing left behind),
/// killed at dispose if the test failed before that.
/// </summary>
internal sealed class BootedMachines : IDisposable
{
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(60);

    private readonly List<QemuMachine> _machines = [];

    public LeakCheck Leaks { get; } = new();

    /// <summary>Remembers a launched machine, to shut it down or kill it.</summary>
    public void Track(QemuMachine machine)
    {
        lock (_machines)
        {
            if (!_machines.Contains(machine))
            {
                _machines.Add(machine);
            }
        }
    }

    /// <summary>Tracks a running machine and records what it owns for the leak check.</summary>
    public void Record(QemuMachine machine)
    {
        Track(machine);
        lock (Leaks)
        {
            Leaks.Record(machine);
        }
    }

    /// <summary>
    /// Boots or restores <paramref name="profile"/> through warm start with <paramref name="options"/>, tracking every
    /// machine it launches (a failed restore's too) and recording the one it returns.
    /// </summary>
    public async Task<WarmStartResult> WarmLaunchAsync(QemuProfile profile, WarmStartOptions options, CancellationToken ct)
    {
        WarmStartResult result = await WarmStartCache.LaunchAsync(profile, machineOptions: null, options with { Launched = Track }, ct);
        Record(result.Machine);
        return result;
    }

    /// <summary>Shuts every running machine down, asserts each exited 0, then that nothing recorded is left.</summary>
    public async Task ShutdownAllAsync(CancellationToken ct)
    {
        foreach (QemuMachine machine in Running())
        {
            await machine.ShutdownAsync(timeout: ShutdownTimeout, cancellationToken: ct);
            Assert.Equal(0, machine.ExitCode);
        }

        await Leaks.AssertNothingLeftAsync();
    }

    public void Dispose()
    {
        foreach (QemuMachine machine in Running())
        {
            machine.KillAsync().GetAwaiter().GetResult();
        }
    }

    private List<QemuMachine> Running()
    {
        lock (_machines)
        {
            return [.. _machines.Where(m => m.IsRunning)];
        }
    }
}
