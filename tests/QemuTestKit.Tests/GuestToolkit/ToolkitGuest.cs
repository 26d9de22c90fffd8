using QemuTestKit.Tests.Guest;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// One tiny guest of a built-in profile for the toolkit tests of a class, booted the way the kit boots any profile, with
/// a <see cref="QemuGuest"/> whose artifacts go to a folder of its own. One derived type per architecture (and display),
/// so each test class gets its own VM. Shut down after the class's last test, which must exit 0 and leave nothing behind.
/// </summary>
public abstract class ToolkitGuest(string profileName, Func<QemuProfile, QemuProfile>? change = null) : IAsyncLifetime
{
    private TinyGuestVm? _vm;
    private string? _artifacts;

    /// <summary>The architecture the guest runs (what <c>uname -m</c> says).</summary>
    public abstract string Architecture { get; }

    public QemuMachine Machine => _vm!.Machine;

    public QemuGuest Guest { get; private set; } = null!;

    public string ArtifactsDirectory => _artifacts!;

    public async ValueTask InitializeAsync()
    {
        _artifacts = Directory.CreateTempSubdirectory("qtk-toolkit-").FullName;
        _vm = await TinyGuestVm.BootAsync(TinyGuestVm.BuiltIn(profileName, change), TestContext.Current.CancellationToken);
        Guest = new QemuGuest(_vm.Machine, new QemuGuestOptions { ArtifactsDirectory = _artifacts });
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_vm is { } vm)
            {
                if (vm.Machine.IsRunning)
                {
                    await vm.Machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(60));
                    Assert.Equal(0, vm.Machine.ExitCode);
                }

                // Asserts no process, folder or socket of the VM is left.
                await vm.DisposeAsync();
            }
        }
        finally
        {
            if (_artifacts is not null)
            {
                Directory.Delete(_artifacts, recursive: true);
            }
        }

        GC.SuppressFinalize(this);
    }
}
