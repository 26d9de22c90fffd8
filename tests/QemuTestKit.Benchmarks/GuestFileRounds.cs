using System.Diagnostics;
using System.Security.Cryptography;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// The measurement the <c>guest-files</c> suite makes for each of <see cref="QemuGuest"/>'s file channels: boot the
/// profile cold, copy a random file into the guest and back, a number of rounds, timing each direction (the copies
/// check SHA-256 themselves), shut down.
/// </summary>
internal static class GuestFileRounds
{
    /// <summary>The median MB/s into and out of the guest, and the boot's time to ready.</summary>
    public sealed record Result(double InMBps, double OutMBps, TimeSpan BootTime);

    /// <summary>Boots <paramref name="profile"/>, checks the channel is <paramref name="channel"/>, runs the rounds.</summary>
    public static async Task<Result> MeasureAsync(QemuProfile profile, string channel, int fileBytes, int rounds, CancellationToken cancellationToken)
    {
        string folder = Directory.CreateTempSubdirectory("qtk-bench-files-").FullName;
        QemuBootResult boot = await QemuBoot.StartAsync(profile with { WarmStart = false }, new QemuBootOptions { ArtifactsDirectory = folder }, cancellationToken);
        try
        {
            string source = Path.Combine(folder, "blob.bin");
            await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(fileBytes), cancellationToken);
            var guest = new QemuGuest(boot.Machine);
            if (guest.FileChannel.Name != channel)
            {
                throw new InvalidOperationException($"the copies would go through the {guest.FileChannel.Name} channel, not the {channel} channel");
            }

            var into = new List<double>();
            var outOf = new List<double>();
            for (int i = 0; i < rounds; i++)
            {
                var clock = Stopwatch.StartNew();
                await guest.CopyToGuestAsync(source, "/tmp/blob.bin", cancellationToken);
                into.Add(fileBytes / 1e6 / clock.Elapsed.TotalSeconds);
                clock.Restart();
                await guest.CopyFromGuestAsync("/tmp/blob.bin", Path.Combine(folder, "back.bin"), cancellationToken);
                outOf.Add(fileBytes / 1e6 / clock.Elapsed.TotalSeconds);
                Console.Error.WriteLine($"guest-files: {channel} channel round {i + 1}/{rounds}: in {into[^1]:0.000} MB/s, out {outOf[^1]:0.000} MB/s");
            }

            return new Result(BenchmarkReport.Summarize(into).Median, BenchmarkReport.Summarize(outOf).Median, boot.BootTime);
        }
        finally
        {
            await boot.Machine.ShutdownAsync(cancellationToken: CancellationToken.None);
            Directory.Delete(folder, recursive: true);
        }
    }
}
