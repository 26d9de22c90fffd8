namespace QemuTestKit.Xunit.Tests.Snapshots;

/// <summary>
/// The command line a profile configures, as a user would commit it: no host paths, no accelerator decided by this
/// host, and the same with warm start's disk layers in place of the profile's drives. Nothing is launched.
/// </summary>
public sealed class ConfiguredCommandLineSnapshotTests
{
    [Fact(Timeout = 60_000)]
    public async Task Tiny_with_a_drive_a_nic_and_a_display()
    {
        QemuProfile tiny = BuiltInProfiles.TryCreate("tiny", AppContext.BaseDirectory)!;
        string guest = Path.GetDirectoryName(tiny.Kernel)!;
        QemuProfile profile = tiny with
        {
            Drives = [new QemuDrive(Path.Combine(guest, "data.qcow2")) { Format = "qcow2", Interface = "nvme", Id = "data" }],
            Network = new QemuProfileNetwork(),
            Display = QemuDisplay.Vga,
        };
        QemuLaunchPlan plan = QemuLaunchPlan.Resolve(profile);
        QemuLaunchPlan warm = plan with { Drives = [plan.Drives[0] with { Path = "/tmp/qemu-machine-x1/disk0.qcow2", Snapshot = false }] };

        string text = SnapshotText.CommandLine(plan);

        Assert.Equal(text, SnapshotText.CommandLine(warm));
        Assert.Contains("-kernel {Images}/vmlinuz", text, StringComparison.Ordinal);
        await Snapshot.MatchAsync(text, TestContext.Current.CancellationToken);
    }
}
