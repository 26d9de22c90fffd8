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
        QemuProfile tiny = BuiltInProfiles.CreateTiny(BuiltInProfiles.FindGuestDirectory(AppContext.BaseDirectory));
        GuestFileRounds.Result result = await GuestFileRounds.MeasureAsync(tiny, "console", FileBytes, Rounds, cancellationToken);
        report.Result("console_file_bytes", FileBytes);
        report.Result("console_in_mb_per_s", result.InMBps);
        report.Result("console_out_mb_per_s", result.OutMBps);
    }
}
