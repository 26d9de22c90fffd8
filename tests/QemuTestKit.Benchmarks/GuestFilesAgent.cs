namespace QemuTestKit.Benchmarks;

/// <summary>
/// The guest agent channel's part of the <c>guest-files</c> suite, beside the console channel's
/// (<see cref="GuestFilesConsole"/>): <see cref="QemuGuest.CopyToGuestAsync"/> and <see cref="QemuGuest.CopyFromGuestAsync"/>
/// of a random 16 MiB file on the built-in <c>tiny-agent-x86_64</c> (TCG; qemu-ga in the guest over virtio-serial),
/// three rounds each way, SHA-256 checked by the copies themselves (the guest's sha256sum included).
/// </summary>
internal static class GuestFilesAgent
{
    private const int FileBytes = 16 * 1024 * 1024;
    private const int Rounds = 3;

    public static async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        QemuProfile tiny = BuiltInProfiles.CreateTinyAgent(BuiltInProfiles.FindGuestDirectory(AppContext.BaseDirectory), "x86_64", BuiltInProfiles.TinyAgentX86_64);
        GuestFileRounds.Result result = await GuestFileRounds.MeasureAsync(tiny, "agent", FileBytes, Rounds, cancellationToken);
        report.Result("agent_channel_file_bytes", FileBytes);
        report.Result("agent_channel_in_mb_per_s", result.InMBps);
        report.Result("agent_channel_out_mb_per_s", result.OutMBps);
        report.Result("agent_boot_to_ready_s", result.BootTime.TotalSeconds);
    }
}
