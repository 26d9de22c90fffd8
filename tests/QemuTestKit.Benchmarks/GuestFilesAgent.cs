using System.Diagnostics;
using System.Security.Cryptography;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// The guest agent channel's part of the <c>guest-files</c> suite, beside the console channel's
/// (<see cref="GuestFilesConsole"/>): <see cref="QemuGuest.CopyToGuestAsync"/> and <see cref="QemuGuest.CopyFromGuestAsync"/>
/// of a random 16 MiB file on the tiny guest with <c>"guestAgent": true</c> (TCG; qemu-ga in the guest over
/// virtio-serial), three rounds each way, SHA-256 checked by the copies themselves (the guest's sha256sum included).
/// </summary>
internal static class GuestFilesAgent
{
    private const int FileBytes = 16 * 1024 * 1024;
    private const int Rounds = 3;

    public static async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string folder = Directory.CreateTempSubdirectory("qtk-bench-agent-files-").FullName;
        QemuProfile tiny = BuiltInProfiles.CreateTiny(BuiltInProfiles.FindGuestDirectory(AppContext.BaseDirectory)) with { WarmStart = false, GuestAgent = true };
        QemuBootResult boot = await QemuBoot.StartAsync(tiny, new QemuBootOptions { ArtifactsDirectory = folder }, cancellationToken);
        try
        {
            byte[] content = RandomNumberGenerator.GetBytes(FileBytes);
            string source = Path.Combine(folder, "blob.bin");
            await File.WriteAllBytesAsync(source, content, cancellationToken);
            var guest = new QemuGuest(boot.Machine);
            if (guest.FileChannel.Name != "agent")
            {
                throw new InvalidOperationException($"the copies would go through the {guest.FileChannel.Name} channel, not the agent");
            }

            var into = new List<double>();
            var outOf = new List<double>();
            for (int i = 0; i < Rounds; i++)
            {
                var clock = Stopwatch.StartNew();
                await guest.CopyToGuestAsync(source, "/tmp/blob.bin", cancellationToken);
                into.Add(FileBytes / 1e6 / clock.Elapsed.TotalSeconds);
                clock.Restart();
                await guest.CopyFromGuestAsync("/tmp/blob.bin", Path.Combine(folder, "back.bin"), cancellationToken);
                outOf.Add(FileBytes / 1e6 / clock.Elapsed.TotalSeconds);
                Console.Error.WriteLine($"guest-files: agent channel round {i + 1}/{Rounds}: in {into[^1]:0.00} MB/s, out {outOf[^1]:0.00} MB/s");
            }

            report.Result("agent_channel_file_bytes", FileBytes);
            report.Result("agent_channel_in_mb_per_s", BenchmarkReport.Summarize(into).Median);
            report.Result("agent_channel_out_mb_per_s", BenchmarkReport.Summarize(outOf).Median);
            report.Result("agent_boot_to_ready_s", boot.BootTime.TotalSeconds);
        }
        finally
        {
            await boot.Machine.ShutdownAsync(cancellationToken: CancellationToken.None);
            Directory.Delete(folder, recursive: true);
        }
    }
}
