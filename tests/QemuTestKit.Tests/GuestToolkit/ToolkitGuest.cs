using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// One tiny guest for the toolkit tests of a class: a user-mode NIC with <c>restrict=on</c> (id <c>net0</c>) and a VGA
/// display. Shut down after the class's last test, which must exit 0 and leave nothing behind.
/// </summary>
public sealed class ToolkitGuest : IAsyncLifetime
{
    public const string NicArgs = "user,restrict=on,model=virtio-net-pci,id=net0";

    private readonly LeakCheck _leaks = new();
    private string? _artifacts;

    public QemuMachine Machine { get; private set; } = null!;

    public QemuGuest Guest { get; private set; } = null!;

    public string ArtifactsDirectory => _artifacts!;

    public async ValueTask InitializeAsync()
    {
        _artifacts = Directory.CreateTempSubdirectory("qtk-toolkit-").FullName;
        Machine = MachineFactory.Guest();
        Machine.AddArgs("-display", "none", "-nic", NicArgs, "-device", "VGA");
        Guest = new QemuGuest(Machine, new QemuGuestOptions { ArtifactsDirectory = _artifacts });
        await MachineFactory.BootAsync(Machine, TestContext.Current.CancellationToken);
        _leaks.Record(Machine);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Machine.IsRunning)
            {
                await Machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(60));
                Assert.Equal(0, Machine.ExitCode);
            }

            await _leaks.AssertNothingLeftAsync();
        }
        finally
        {
            await Machine.DisposeAsync();
            Directory.Delete(_artifacts!, recursive: true);
        }
    }
}
