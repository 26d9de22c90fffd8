using System.Diagnostics;
using System.Security.Cryptography;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// The console channel's part of the <c>guest-files</c> suite: <see cref="QemuGuest.CopyToGuestAsync"/> and
/// <see cref="QemuGuest.CopyFromGuestAsync"/> of a random 1 MiB file on the tiny guest (TCG, the emulated UART), three
/// rounds each way, SHA-256 checked by the copies themselves.
/// </summary>
internal static class GuestFilesConsole
{
    private const int FileBytes = 1024 * 1024;
    private const int Rounds = 3;

    public static async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string folder = Directory.CreateTempSubdirectory("qtk-bench-console-files-").FullName;
        QemuProfile tiny = BuiltInProfiles.CreateTiny(BuiltInProfiles.FindGuestDirectory(AppContext.BaseDirectory)) with { WarmStart = false };
        QemuBootResult boot = await QemuBoot.StartAsync(tiny, new QemuBootOptions { ArtifactsDirectory = folder }, cancellationToken);
        try
        {
            byte[] content = RandomNumberGenerator.GetBytes(FileBytes);
            string source = Path.Combine(folder, "blob.bin");
            await File.WriteAllBytesAsync(source, content, cancellationToken);
            var guest = new QemuGuest(boot.Machine);
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
                Console.Error.WriteLine($"guest-files: console round {i + 1}/{Rounds}: in {into[^1]:0.000} MB/s, out {outOf[^1]:0.000} MB/s");
            }

            report.Result("console_file_bytes", FileBytes);
            report.Result("console_in_mb_per_s", BenchmarkReport.Summarize(into).Median);
            report.Result("console_out_mb_per_s", BenchmarkReport.Summarize(outOf).Median);
        }
        finally
        {
            await boot.Machine.ShutdownAsync(cancellationToken: CancellationToken.None);
            Directory.Delete(folder, recursive: true);
        }
    }
}
