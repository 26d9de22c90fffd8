using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// The flood half of suite <c>console</c>: 50 MB of guest-like lines through loopback TCP, read by a <see cref="QemuConsole"/>
/// with a wait pending for the end marker and a console-wide failure pattern, by a raw socket loop that only looks for the
/// end marker, and by the console again while a loop waits for a marker printed every 256 KB; interleaved, 25 rounds after
/// one uncounted warm-up round of each (<c>QTK_FLOOD_ROUNDS</c> sets the number). A flood lasts ~25 ms, so one round swings
/// with the neighbours' load (0.44–1.6× in 5-round runs); 25 rounds narrow the median (0.73, 0.74, 0.89 in three 25-round runs at load 4.5).
/// Reports MB/s of each (and the ratios to raw), the console's peak managed heap and RSS during the flood, the heap kept
/// after a full GC, and each marker wait's latency from the socket read that delivered the marker to the wait returning.
/// </summary>
internal static class ConsoleFlood
{
    private const long FloodBytes = 50L * 1024 * 1024;
    private const int MarkEvery = 256 * 1024;
    private const int DefaultRounds = 25;
    private const string EndMarker = "FLOOD-END\n";

    private static readonly System.Text.RegularExpressions.Regex s_mark = new(@"MARK-\d+\n", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public static async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        var ours = new List<double>();
        var raw = new List<double>();
        var latencies = new List<double>();
        long peakHeap = 0;
        long peakRss = 0;
        long rawPeakRss = 0;
        long keptHeap = 0;
        var oursWithWaits = new List<double>();
        var oursCpu = new List<double>();
        var rawCpu = new List<double>();
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("QTK_FLOOD_ROUNDS"), CultureInfo.InvariantCulture, out int r) && r > 0 ? r : DefaultRounds;
        if (Environment.GetEnvironmentVariable("QTK_FLOOD_ONLY") is { Length: > 0 } only)
        {
            await ProfileAsync(only, rounds, cancellationToken);
            return;
        }

        // One uncounted round of each first: a 50 MB flood lasts tens of milliseconds, so without it the first rounds measure
        // the JIT's tiers (instrumented code calling the runtime's profiling helpers) more than either reader.
        await OursAsync(null, cancellationToken);
        await RawAsync(cancellationToken);
        await OursAsync([], cancellationToken);

        for (int round = 0; round < rounds; round++)
        {
            // Interleaved: the console with only the end wait pending, the raw reader, the console with a wait for every marker.
            using (var sampler = new MemorySampler())
            {
                (double mbps, double cpuPerMb, long kept) = await OursAsync(null, cancellationToken);
                oursCpu.Add(cpuPerMb);
                ours.Add(mbps);
                keptHeap = Math.Max(keptHeap, kept);
                peakHeap = Math.Max(peakHeap, sampler.PeakHeap);
                peakRss = Math.Max(peakRss, sampler.PeakRss);
            }

            using (var sampler = new MemorySampler())
            {
                (double mbps, double cpuPerMb) = await RawAsync(cancellationToken);
                raw.Add(mbps);
                rawCpu.Add(cpuPerMb);
                rawPeakRss = Math.Max(rawPeakRss, sampler.PeakRss);
            }

            using (var sampler = new MemorySampler())
            {
                (double mbps, _, long kept) = await OursAsync(latencies, cancellationToken);
                oursWithWaits.Add(mbps);
                keptHeap = Math.Max(keptHeap, kept);
                peakHeap = Math.Max(peakHeap, sampler.PeakHeap);
                peakRss = Math.Max(peakRss, sampler.PeakRss);
            }

            Console.Error.WriteLine($"console flood round {round + 1}: ours {ours[^1]:0} MB/s ({oursWithWaits[^1]:0} with marker waits), raw {raw[^1]:0} MB/s");
        }

        double oursMedian = Median(ours);
        double rawMedian = Median(raw);
        (double latencyMedian, double latencyP99) = BenchmarkReport.Summarize(latencies);
        report.Result("flood_mb", FloodBytes / 1e6);
        report.Result("flood_console_mb_per_s", oursMedian);
        report.Result("flood_console_with_marker_waits_mb_per_s", Median(oursWithWaits));
        report.Result("flood_raw_socket_mb_per_s", rawMedian);
        report.Result("flood_console_peak_managed_heap_mb", peakHeap / 1e6);
        report.Result("flood_console_heap_after_full_gc_mb", keptHeap / 1e6);
        report.Result("flood_console_peak_rss_mb", peakRss / 1e6);
        report.Result("flood_raw_socket_peak_rss_mb", rawPeakRss / 1e6);
        report.Result("flood_wait_latency_median_ms", latencyMedian);
        report.Result("flood_wait_latency_p99_ms", latencyP99);
        report.Result("flood_waits", latencies.Count);
        report.Result("flood_console_cpu_ms_per_mb", Median(oursCpu));
        report.Result("flood_raw_socket_cpu_ms_per_mb", Median(rawCpu));
        report.Ratio("flood_console_vs_raw_socket_throughput", oursMedian / rawMedian);

        // On a shared, loaded box MB/s measures the neighbours as much as the reader; CPU time per MB (this process: the
        // producer and the reader) does not. Raw over ours, so like the throughput ratio, 1.0 is "as cheap as raw".
        report.Ratio("flood_raw_socket_vs_console_cpu_per_mb", Median(rawCpu) / Median(oursCpu));
        report.Ratio("flood_console_with_marker_waits_vs_raw_socket_throughput", Median(oursWithWaits) / rawMedian);
    }

    /// <summary>
    /// For a profiler (<c>QTK_FLOOD_ONLY=ours|raw|waits</c>, <c>QTK_FLOOD_ROUNDS=n</c>): runs one variant only, n times, and
    /// prints its MB/s; no report.
    /// </summary>
    private static async Task ProfileAsync(string only, int rounds, CancellationToken cancellationToken)
    {
        for (int round = 0; round < rounds; round++)
        {
            double mbps = only switch
            {
                "ours" => (await OursAsync(null, cancellationToken)).MegabytesPerSecond,
                "waits" => (await OursAsync([], cancellationToken)).MegabytesPerSecond,
                "raw" => (await RawAsync(cancellationToken)).MegabytesPerSecond,
                _ => throw new ArgumentException($"QTK_FLOOD_ONLY is '{only}': say ours, raw or waits."),
            };
            Console.Error.WriteLine($"console flood {only} round {round + 1}: {mbps:0} MB/s");
        }
    }

    /// <summary>
    /// Waits for one marker after another while the flood runs; each wait is registered before its marker arrives (a marker
    /// already received when its wait began would measure this loop, not the console, and is skipped).
    /// </summary>
    private static async Task MeasureWaitsAsync(QemuConsole console, StampingStream stamped, List<double> latencies, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                long registered = Stopwatch.GetTimestamp();
                ConsoleMatch match = await console.WaitForAsync(s_mark, null, TimeSpan.FromMinutes(5), cancellationToken);
                long returned = Stopwatch.GetTimestamp();
                long arrived = stamped.TimestampOfReadContaining(match.Index + (long)match.Match.Length);
                if (arrived >= registered)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(arrived, returned).TotalMilliseconds);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The console reading the flood. Only the variant that measures wait latency wraps the socket's stream in a
    /// <see cref="StampingStream"/> (it needs each read's arrival time); the plain variant reads the socket's stream as the raw
    /// reader does, so the throughput and CPU ratios compare the console with the raw loop, not with the stamping.
    /// CPU time is taken from the flood's start to the end marker's arrival, like the raw reader's: the full GC that
    /// measures the kept heap comes after.
    /// </summary>
    private static async Task<(double MegabytesPerSecond, double CpuMsPerMb, long KeptHeap)> OursAsync(List<double>? latencies, CancellationToken cancellationToken)
    {
        (Socket guest, Socket host) = await PairAsync(cancellationToken);
        using (guest)
        {
            var network = new NetworkStream(host, ownsSocket: true);
            StampingStream? stamped = latencies is null ? null : new StampingStream(network);
            await using QemuConsole console = QemuConsole.Create(stamped ?? (Stream)network);
            console.FailurePatterns = [new System.Text.RegularExpressions.Regex("Kernel panic")];
            Task<ConsoleMatch> end = console.WaitForAsync(EndMarker, null, TimeSpan.FromMinutes(5), cancellationToken);
            using var flooding = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task waits = stamped is null ? Task.CompletedTask : Task.Run(() => MeasureWaitsAsync(console, stamped, latencies!, flooding.Token), cancellationToken);
            TimeSpan cpu = CpuTime();
            long t0 = Stopwatch.GetTimestamp();
            await ProduceAsync(guest, cancellationToken);
            await end;
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double cpuPerMb = (CpuTime() - cpu).TotalMilliseconds / (FloodBytes / 1e6);
            await flooding.CancelAsync();
            await waits;
            long kept = GC.GetTotalMemory(forceFullCollection: true);
            GC.KeepAlive(console);
            return (FloodBytes / 1e6 / seconds, cpuPerMb, kept);
        }
    }

    /// <summary>The reference: a plain loop that receives into one buffer and looks for the end marker, nothing else.</summary>
    private static async Task<(double MegabytesPerSecond, double CpuMsPerMb)> RawAsync(CancellationToken cancellationToken)
    {
        (Socket guest, Socket host) = await PairAsync(cancellationToken);
        using (guest)
        using (host)
        {
            TimeSpan cpu = CpuTime();
            long t0 = Stopwatch.GetTimestamp();
            Task produce = ProduceAsync(guest, cancellationToken);
            byte[] buffer = new byte[64 * 1024];
            byte[] marker = Encoding.ASCII.GetBytes(EndMarker);
            int carry = 0;
            while (true)
            {
                int n = await host.ReceiveAsync(buffer.AsMemory(carry), cancellationToken);
                if (n == 0)
                {
                    throw new IOException("the flood ended before its end marker");
                }

                int length = carry + n;
                if (buffer.AsSpan(0, length).IndexOf(marker) >= 0)
                {
                    break;
                }

                // Keep the last bytes, in case the marker is split across reads.
                carry = Math.Min(length, marker.Length - 1);
                buffer.AsSpan(length - carry, carry).CopyTo(buffer);
            }

            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double cpuPerMb = (CpuTime() - cpu).TotalMilliseconds / (FloodBytes / 1e6);
            await produce;
            return (FloodBytes / 1e6 / seconds, cpuPerMb);
        }
    }

    private static async Task ProduceAsync(Socket guest, CancellationToken cancellationToken)
    {
        byte[] block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("y flood line of a chatty guest 0123456789abcdef\n", MarkEvery / 48)));
        long sent = 0;
        int mark = 0;
        while (sent < FloodBytes)
        {
            await guest.SendAsync(block, cancellationToken);
            sent += block.Length;
            if (sent / MarkEvery > mark && mark < FloodBytes / MarkEvery)
            {
                byte[] text = Encoding.ASCII.GetBytes(Mark(mark));
                await guest.SendAsync(text, cancellationToken);
                sent += text.Length;
                mark++;
            }
        }

        await guest.SendAsync(Encoding.ASCII.GetBytes(EndMarker), cancellationToken);
    }

    private static string Mark(int i) => string.Create(CultureInfo.InvariantCulture, $"MARK-{i:D6}\n");

    private static async Task<(Socket Guest, Socket Host)> PairAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Task connect = host.ConnectAsync(listener.LocalEndPoint!, cancellationToken).AsTask();
        Socket guest = await listener.AcceptAsync(cancellationToken);
        await connect;
        return (guest, host);
    }

    private static double Median(List<double> values) => BenchmarkReport.Summarize(values).Median;

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>Samples the managed heap and the process's resident set every 5 ms while it lives.</summary>
    private sealed class MemorySampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _peakHeap;
        private long _peakRss;

        public MemorySampler() => _loop = Task.Run(LoopAsync);

        public long PeakHeap => Interlocked.Read(ref _peakHeap);

        public long PeakRss => Interlocked.Read(ref _peakRss);

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            using var process = Process.GetCurrentProcess();
            while (!_stop.IsCancellationRequested)
            {
                process.Refresh();
                Interlocked.Exchange(ref _peakHeap, Math.Max(_peakHeap, GC.GetTotalMemory(forceFullCollection: false)));
                Interlocked.Exchange(ref _peakRss, Math.Max(_peakRss, process.WorkingSet64));
                try
                {
                    await Task.Delay(5, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }
}
