using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// A built-in tiny profile booted the way the kit boots any profile (<see cref="QemuProfileMachine"/>) to its shell
/// prompt. Disposing shuts it down, asserts QEMU exited with status 0 and that nothing it owned is left.
/// </summary>
internal sealed class TinyGuestVm : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(60);

    private readonly LeakCheck _leaks = new();

    private TinyGuestVm(QemuProfile profile, QemuMachine machine)
    {
        Profile = profile;
        Machine = machine;
    }

    public QemuProfile Profile { get; }

    public QemuMachine Machine { get; }

    public QemuConsole Console => Machine.Console;

    /// <summary>The built-in profile <paramref name="name"/> of this repository's guest, changed by <paramref name="change"/>.</summary>
    public static QemuProfile BuiltIn(string name, Func<QemuProfile, QemuProfile>? change = null)
    {
        QemuProfile profile = BuiltInProfiles.TryCreate(name, AppContext.BaseDirectory)
            ?? throw new InvalidOperationException($"'{name}' is not a built-in profile");
        // Boot time varies a lot on the shared CI box, and an emulated aarch64 is slower still.
        profile = profile with { BootTimeout = TimeSpan.FromMinutes(4) };
        return change is null ? profile : change(profile);
    }

    /// <summary>Launches the profile's machine and waits for its ready marker and first prompt.</summary>
    public static async Task<TinyGuestVm> BootAsync(QemuProfile profile, CancellationToken cancellationToken)
    {
        TinyGuestVm vm = await LaunchAsync(profile, cancellationToken);
        try
        {
            await vm.Console.WaitForAsync(profile.ReadyPattern!, profile.FailurePatterns, profile.BootTimeout, cancellationToken);
            await vm.Console.WaitForAsync(profile.Prompt!, null, profile.BootTimeout, cancellationToken);
            return vm;
        }
        catch
        {
            // The boot's own failure is the evidence; a kill that fails as well must not replace it.
            await vm.Machine.KillAsync(CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Launches the profile's machine (QMP ready, console configured) without waiting for the guest.</summary>
    public static async Task<TinyGuestVm> LaunchAsync(QemuProfile profile, CancellationToken cancellationToken)
    {
        QemuMachine machine = QemuProfileMachine.Create(profile);
        var vm = new TinyGuestVm(profile, machine);
        try
        {
            await machine.LaunchAsync(cancellationToken);
            vm._leaks.Record(machine);
            QemuProfileMachine.ConfigureConsole(profile, machine.Console);
            return vm;
        }
        catch
        {
            await machine.KillAsync(CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Runs a guest command that must succeed and returns its output.</summary>
    public async Task<string> SucceedAsync(string command, CancellationToken cancellationToken)
    {
        ConsoleExecResult result = await Console.ExecAsync(command, Profile.BootTimeout, cancellationToken);
        Assert.True(result.ExitCode == 0, $"'{command}' exited with {result.ExitCode} in the guest:\n{result.Output}");
        return result.Output;
    }

    /// <summary>Powers the guest off from its shell, as a user would.</summary>
    public async Task PowerOffAsync(CancellationToken cancellationToken)
    {
        await Console.SendLineAsync("poweroff", cancellationToken);
        await Machine.WaitAsync(ShutdownTimeout, cancellationToken);
        Assert.Equal(0, Machine.ExitCode);
    }

    public async ValueTask DisposeAsync()
    {
        if (Machine.IsRunning)
        {
            await Machine.ShutdownAsync(timeout: ShutdownTimeout);
        }

        await Machine.DisposeAsync();
        await _leaks.AssertNothingLeftAsync();
    }
}
