namespace QemuTestKit.Xunit.Tests.Snapshots;

/// <summary>
/// The kit's own command lines, snapshotted beside this file: the built-in profiles and the seed's option
/// combinations. Each machine really launches (the command line exists only then) and is checked to leave
/// nothing behind. The verified files must be identical on any computer: paths, names, PIDs and ports are placeholders.
/// </summary>
public sealed class CommandLineSnapshotTests
{
    [Theory(Timeout = 120_000)]
    [InlineData("none")]
    [InlineData("tiny")]
    public async Task Built_in_profile(string profile)
    {
        string text = await LaunchAndRenderAsync(ProfileMachine(profile), TestContext.Current.CancellationToken);

        await Snapshot.MatchAsync(text, TestContext.Current.CancellationToken);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("console-index-2")]
    [InlineData("console-device-isa-serial")]
    [InlineData("tcp-monitor")]
    [InlineData("qmp-disabled-monitor-null")]
    [InlineData("wrapper")]
    public async Task Seed_option_combination(string combination)
    {
        QemuMachine machine = new(QemuBinary, new QemuMachineOptions
        {
            MonitorAddress = combination == "tcp-monitor" ? QemuSocketAddress.Tcp("127.0.0.1", 0) : null,
            Wrapper = combination == "wrapper" ? ["sh", "-c", "exec \"$@\"", "sh"] : [],
        });
        machine.SetMachine("pc");
        machine.AddArgs("-nodefaults", "-accel", "tcg", "-m", "64");
        switch (combination)
        {
            case "console-index-2":
                machine.SetConsole(consoleIndex: 2);
                break;
            case "console-device-isa-serial":
                machine.SetConsole("isa-serial");
                break;
            case "qmp-disabled-monitor-null":
                machine.SetQmpMonitor(false);
                machine.AddMonitorNull();
                machine.SetConsole();
                break;
            default:
                machine.SetConsole();
                break;
        }

        string text = await LaunchAndRenderAsync(machine, TestContext.Current.CancellationToken);

        await Snapshot.MatchAsync(text, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_same_profile_gives_the_same_text_with_different_temp_dirs()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        DirectoryInfo first = Directory.CreateTempSubdirectory("qtk-a-");
        DirectoryInfo second = Directory.CreateTempSubdirectory("qtk-bb-");
        try
        {
            string a = await LaunchAndRenderAsync(ProfileMachine("none", new QemuMachineOptions { BaseTempDir = first.FullName }), ct);
            string b = await LaunchAndRenderAsync(ProfileMachine("none", new QemuMachineOptions { BaseTempDir = second.FullName, Name = "other-name" }), ct);

            Assert.Equal(a, b);
            Assert.DoesNotContain(first.FullName, a, StringComparison.Ordinal);
            Assert.Contains("{SockDir}/{Name}-monitor.sock", a, StringComparison.Ordinal);
            await Snapshot.MatchAsync(a, ct);
        }
        finally
        {
            first.Delete(recursive: true);
            second.Delete(recursive: true);
        }
    }

    private static string QemuBinary => QemuBinaryLocator.Resolve(new QemuProfile("snapshot"));

    private static QemuMachine ProfileMachine(string name, QemuMachineOptions? options = null)
    {
        QemuProfile profile = BuiltInProfiles.TryCreate(name, AppContext.BaseDirectory)
            ?? throw new InvalidOperationException($"no built-in profile '{name}'");

        // "auto" would resolve to kvm on a computer with /dev/kvm: pin it so the snapshot is the same everywhere.
        return QemuProfileMachine.Create(profile with { Accel = QemuAccelerator.Tcg }, options);
    }

    /// <summary>Launches, renders the command line, shuts down, and checks no process or folder is left.</summary>
    private static async Task<string> LaunchAndRenderAsync(QemuMachine machine, CancellationToken ct)
    {
        await using (machine)
        {
            await machine.LaunchAsync(ct);
            int pid = machine.Pid ?? throw new InvalidOperationException("no pid");
            string[] folders = [machine.TempDir, machine.SockDir];
            string text = SnapshotText.CommandLine(machine, GuestPlaceholder());

            bool hasQmp = machine.CommandLine.Contains("-mon");
            await machine.ShutdownAsync(hard: !hasQmp, cancellationToken: ct);

            Assert.False(machine.IsRunning);
            Assert.False(Directory.Exists($"/proc/{pid}"), $"QEMU pid {pid} is still there");
            Assert.All(folders, folder => Assert.False(Directory.Exists(folder), $"'{folder}' was left behind"));
            return text;
        }
    }

    private static Dictionary<string, string> GuestPlaceholder()
    {
        try
        {
            return new() { [BuiltInProfiles.FindGuestDirectory(AppContext.BaseDirectory)] = "GuestDir" };
        }
        catch (QemuProfileException)
        {
            // Only the tiny profile needs the guest; it fails on its own with the build hint.
            return [];
        }
    }
}
