using QemuTestKit.Tests.Guest;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Qga;

/// <summary>
/// One tiny guest with the guest agent (<c>"guestAgent": true</c>) for the agent tests of a class, booted cold the way
/// the kit boots any profile (<see cref="QemuBoot"/>: ready marker, prompt, then the agent answering). Shut down after
/// the class's last test, which must exit 0 and leave nothing behind. One derived fixture per architecture.
/// </summary>
public abstract class AgentGuest(string profileName) : IAsyncLifetime
{
    private readonly LeakCheck _leaks = new();
    private string? _scratch;

    public QemuProfile Profile { get; } = WithAgent(profileName);

    public QemuMachine Machine { get; private set; } = null!;

    public QemuGuest Guest { get; private set; } = null!;

    public string Scratch => _scratch!;

    /// <summary>The built-in <c>tiny-agent-*</c> profile <paramref name="name"/>, booted cold (no warm start).</summary>
    public static QemuProfile WithAgent(string name)
    {
        QemuProfile profile = TinyGuestVm.BuiltIn(name, p => p with { WarmStart = false });
        Assert.True(profile.GuestAgent, $"{name} should be a profile with the guest agent");
        return profile;
    }

    public async ValueTask InitializeAsync()
    {
        _scratch = Directory.CreateTempSubdirectory("qtk-agent-").FullName;
        QemuBootResult boot = await QemuBoot.StartAsync(Profile, cancellationToken: TestContext.Current.CancellationToken);
        Machine = boot.Machine;
        _leaks.Record(Machine);
        Guest = new QemuGuest(Machine);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Machine is { IsRunning: true })
            {
                await Machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(60));
                Assert.Equal(0, Machine.ExitCode);
            }

            await _leaks.AssertNothingLeftAsync();
        }
        finally
        {
            if (Machine is not null)
            {
                await Machine.DisposeAsync();
            }

            Directory.Delete(_scratch!, recursive: true);
            GC.SuppressFinalize(this);
        }
    }
}
