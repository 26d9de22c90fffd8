using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using QemuTestKit.Qmp;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// QmpClient against a minimal raw-socket QMP client, side by side in one run: launch to QMP ready, sequential
/// query-status round trips, and stop→STOP event latency. Ours and raw alternate in batches (ABBA order) so that
/// machine noise hits both equally; each client talks to its own identical QEMU so that neither pays for the
/// other's events. Launches, round trips and events are each measured in 5 runs, one after the other on the same two QEMUs; each
/// ratio is the median of the 5 per-run ratios, so one noisy stretch of a loaded host does not decide it.
/// </summary>
internal sealed class QmpBenchmarkSuite : IBenchmarkSuite
{
    private const int Launches = 20;
    private const int RoundTrips = 2000;
    private const int RoundTripBatch = 20;
    private const int Events = 1000;
    private const int Runs = 5;
    private const int EventBatch = 5;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(3);

    public string Name => "qmp";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string binary = FindQemu();
        string dir = Directory.CreateTempSubdirectory("qtk-bench-").FullName;
        try
        {
            var launches = new List<(List<double> Ours, List<double> Raw)>(Runs);
            for (int run = 0; run < Runs; run++)
            {
                launches.Add(await MeasureLaunchesAsync(binary, dir, cancellationToken));
            }

            RecordRuns(report, "launch_ms", launches, "launch_median");

            await using var ours = await OursSession.StartAsync(binary, Path.Combine(dir, "ours.sock"), cancellationToken);
            await using var raw = await RawSession.StartAsync(binary, Path.Combine(dir, "raw.sock"), cancellationToken);

            // Warm-up: JIT, thread pool, QEMU's first-time paths. By time, not by count: tiered compilation promotes
            // methods to optimized code only after a delay and in the background (with PGO, in two steps), and our
            // client has far more code to promote than the raw one. A count-based warm-up of a few hundred round
            // trips ended before that, so the measurement ran part of our code unoptimized while the JIT thread
            // competed for the two cores: a cost of starting up, not of a message, and it fell on our side only.
            long warmUp = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warmUp) < WarmUp)
            {
                for (int i = 0; i < 50; i++)
                {
                    await ours.QueryStatusAsync(cancellationToken);
                    await raw.QueryStatusAsync(cancellationToken);
                }

                await ours.StopToEventAsync(cancellationToken);
                await raw.StopToEventAsync(cancellationToken);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken); // let the last background compiles finish

            var roundTrips = new List<(List<double> Ours, List<double> Raw)>(Runs);
            var events = new List<(List<double> Ours, List<double> Raw)>(Runs);
            for (int run = 0; run < Runs; run++)
            {
                roundTrips.Add(await AlternateAsync(RoundTrips, RoundTripBatch, ours.QueryStatusAsync, raw.QueryStatusAsync, cancellationToken));
                events.Add(await AlternateAsync(Events, EventBatch, ours.StopToEventAsync, raw.StopToEventAsync, cancellationToken));
                Console.Error.WriteLine($"qmp: run {run + 1}/{Runs} done");
            }

            RecordRuns(report, "roundtrip_us", roundTrips, "roundtrip_median");
            RecordRuns(report, "event_us", events, "event_median");

            report.Result("qemu", binary);
            report.Result("method", "medians and p99 of individual samples; ours and raw alternate in ABBA batches; one QEMU per client; times from Stopwatch; each ratio: the median over 5 runs of the per-run median ratio");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Per-run medians and their ratio, pooled medians and p99, and the median of the per-run ratios as the ratio.</summary>
    private static void RecordRuns(BenchmarkReport report, string name, List<(List<double> Ours, List<double> Raw)> runs, string ratio)
    {
        var perRun = new JsonArray();
        var ratios = new List<double>(runs.Count);
        foreach ((List<double> ours, List<double> raw) in runs)
        {
            double oursMedian = BenchmarkReport.Summarize(ours).Median;
            double rawMedian = BenchmarkReport.Summarize(raw).Median;
            ratios.Add(oursMedian / rawMedian);
            perRun.Add(new JsonObject
            {
                ["qemutestkit_median"] = Math.Round(oursMedian, 2),
                ["raw_median"] = Math.Round(rawMedian, 2),
                ["ratio"] = Math.Round(ratios[^1], 4),
            });
        }

        (double oursPooled, double oursP99) = BenchmarkReport.Summarize([.. runs.SelectMany(r => r.Ours)]);
        (double rawPooled, double rawP99) = BenchmarkReport.Summarize([.. runs.SelectMany(r => r.Raw)]);
        report.Result(name, new JsonObject
        {
            ["runs"] = runs.Count,
            ["samples_each_per_run"] = runs[0].Ours.Count,
            ["per_run"] = perRun,
            ["qemutestkit"] = new JsonObject { ["median"] = Math.Round(oursPooled, 2), ["p99"] = Math.Round(oursP99, 2) },
            ["raw"] = new JsonObject { ["median"] = Math.Round(rawPooled, 2), ["p99"] = Math.Round(rawP99, 2) },
        });
        report.Ratio(ratio, BenchmarkReport.Summarize(ratios).Median);
    }

    private static async Task<(List<double> Ours, List<double> Raw)> AlternateAsync(
        int count, int batch, Func<CancellationToken, Task<double>> ours, Func<CancellationToken, Task<double>> raw, CancellationToken cancellationToken)
    {
        var oursSamples = new List<double>(count);
        var rawSamples = new List<double>(count);
        for (int round = 0; oursSamples.Count < count; round++)
        {
            // ABBA: neither client always runs first after the other.
            bool oursFirst = round % 2 == 0;
            await RunBatchAsync(oursFirst ? ours : raw, oursFirst ? oursSamples : rawSamples);
            await RunBatchAsync(oursFirst ? raw : ours, oursFirst ? rawSamples : oursSamples);
        }

        return (oursSamples, rawSamples);

        async Task RunBatchAsync(Func<CancellationToken, Task<double>> measure, List<double> samples)
        {
            for (int i = 0; i < batch; i++)
            {
                samples.Add(await measure(cancellationToken));
            }
        }
    }

    private static async Task<(List<double> Ours, List<double> Raw)> MeasureLaunchesAsync(string binary, string dir, CancellationToken cancellationToken)
    {
        var ours = new List<double>(Launches);
        var raw = new List<double>(Launches);
        for (int i = -2; i < Launches; i++)
        {
            bool oursFirst = (i & 1) == 0;
            for (int j = 0; j < 2; j++)
            {
                bool runOurs = (j == 0) == oursFirst;
                string sock = Path.Combine(dir, runOurs ? "launch-ours.sock" : "launch-raw.sock");
                double ms = runOurs ? await LaunchOursAsync(binary, sock, cancellationToken) : await LaunchRawAsync(binary, sock, cancellationToken);
                if (i >= 0)
                {
                    (runOurs ? ours : raw).Add(ms);
                }
            }
        }

        return (ours, raw);
    }

    private static async Task<double> LaunchOursAsync(string binary, string sock, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        await using QmpListener listener = QmpListener.ListenUnix(sock);
        using Process qemu = StartQemu(binary, sock);
        try
        {
            await using QmpClient client = await listener.AcceptAsync(cancellationToken: cancellationToken);
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            await client.ExecuteAsync("quit", cancellationToken: cancellationToken);
            await qemu.WaitForExitAsync(cancellationToken);
            return ms;
        }
        finally
        {
            KillIfRunning(qemu);
        }
    }

    private static async Task<double> LaunchRawAsync(string binary, string sock, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(sock));
        listener.Listen(1);
        using Process qemu = StartQemu(binary, sock);
        try
        {
            using Socket socket = await listener.AcceptAsync(cancellationToken);
            var raw = new RawQmp(socket);
            await raw.ReadLineAsync(cancellationToken); // greeting
            await raw.SendAsync("{\"execute\":\"qmp_capabilities\"}\n"u8.ToArray(), cancellationToken);
            await raw.ReadUntilAsync("\"return\""u8.ToArray(), cancellationToken);
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            await raw.SendAsync("{\"execute\":\"quit\"}\n"u8.ToArray(), cancellationToken);
            await qemu.WaitForExitAsync(cancellationToken);
            return ms;
        }
        finally
        {
            KillIfRunning(qemu);
            File.Delete(sock);
        }
    }

    private static Process StartQemu(string binary, string sock)
    {
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false };
        foreach (string arg in new[] { "-machine", "none", "-nodefaults", "-display", "none", "-chardev", $"socket,id=mon,path={sock}", "-mon", "chardev=mon,mode=control" })
        {
            psi.ArgumentList.Add(arg);
        }

        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
    }

    private static void KillIfRunning(Process qemu)
    {
        if (!qemu.HasExited)
        {
            qemu.Kill();
            qemu.WaitForExit();
        }
    }

    private static string FindQemu()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("QEMU_BINARY");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "qemu-system-x86_64");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("qemu-system-x86_64 was not found on PATH; run 'bash build/install-prerequisites.sh'.");
    }

    /// <summary>QemuTestKit's client on its own QEMU.</summary>
    private sealed class OursSession : IAsyncDisposable
    {
        private readonly Process _qemu;
        private readonly QmpListener _listener;
        private readonly QmpClient _client;

        private OursSession(Process qemu, QmpListener listener, QmpClient client)
        {
            _qemu = qemu;
            _listener = listener;
            _client = client;
        }

        public static async Task<OursSession> StartAsync(string binary, string sock, CancellationToken cancellationToken)
        {
            QmpListener listener = QmpListener.ListenUnix(sock);
            Process qemu = StartQemu(binary, sock);
            QmpClient client = await listener.AcceptAsync(cancellationToken: cancellationToken);
            return new OursSession(qemu, listener, client);
        }

        public async Task<double> QueryStatusAsync(CancellationToken cancellationToken)
        {
            long start = Stopwatch.GetTimestamp();
            await _client.ExecuteAsync("query-status", cancellationToken: cancellationToken);
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        public async Task<double> StopToEventAsync(CancellationToken cancellationToken)
        {
            long start = Stopwatch.GetTimestamp();
            Task<System.Text.Json.JsonElement> stop = _client.ExecuteAsync("stop", cancellationToken: cancellationToken);
            await _client.WaitForEventAsync("STOP", cancellationToken: cancellationToken);
            double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            await stop;
            await _client.ExecuteAsync("cont", cancellationToken: cancellationToken);
            await _client.WaitForEventAsync("RESUME", cancellationToken: cancellationToken);
            return us;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _client.ExecuteAsync("quit");
                await _qemu.WaitForExitAsync();
            }
            finally
            {
                KillIfRunning(_qemu);
                await _client.DisposeAsync();
                await _listener.DisposeAsync();
                _qemu.Dispose();
            }
        }
    }

    /// <summary>The reference: a minimal raw-socket client that does nothing but write lines and scan for a marker.</summary>
    private sealed class RawSession : IAsyncDisposable
    {
        private static readonly byte[] QueryStatus = "{\"execute\":\"query-status\"}\n"u8.ToArray();
        private static readonly byte[] Stop = "{\"execute\":\"stop\"}\n"u8.ToArray();
        private static readonly byte[] Cont = "{\"execute\":\"cont\"}\n"u8.ToArray();
        private static readonly byte[] Return = "\"return\""u8.ToArray();
        private static readonly byte[] StopEvent = "\"event\": \"STOP\""u8.ToArray();
        private static readonly byte[] ResumeEvent = "\"event\": \"RESUME\""u8.ToArray();

        private readonly Process _qemu;
        private readonly Socket _listener;
        private readonly Socket _socket;
        private readonly RawQmp _raw;
        private readonly string _sock;

        private RawSession(Process qemu, Socket listener, Socket socket, string sock)
        {
            _qemu = qemu;
            _listener = listener;
            _socket = socket;
            _raw = new RawQmp(socket);
            _sock = sock;
        }

        public static async Task<RawSession> StartAsync(string binary, string sock, CancellationToken cancellationToken)
        {
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(sock));
            listener.Listen(1);
            Process qemu = StartQemu(binary, sock);
            Socket socket = await listener.AcceptAsync(cancellationToken);
            var session = new RawSession(qemu, listener, socket, sock);
            await session._raw.ReadLineAsync(cancellationToken);
            await session._raw.SendAsync("{\"execute\":\"qmp_capabilities\"}\n"u8.ToArray(), cancellationToken);
            await session._raw.ReadUntilAsync(Return, cancellationToken);
            return session;
        }

        public async Task<double> QueryStatusAsync(CancellationToken cancellationToken)
        {
            long start = Stopwatch.GetTimestamp();
            await _raw.SendAsync(QueryStatus, cancellationToken);
            await _raw.ReadUntilAsync(Return, cancellationToken);
            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        public async Task<double> StopToEventAsync(CancellationToken cancellationToken)
        {
            long start = Stopwatch.GetTimestamp();
            await _raw.SendAsync(Stop, cancellationToken);
            await _raw.ReadUntilAsync(StopEvent, cancellationToken);
            double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            await _raw.ReadUntilAsync(Return, cancellationToken);
            await _raw.SendAsync(Cont, cancellationToken);
            await _raw.ReadUntilAsync(ResumeEvent, cancellationToken);
            await _raw.ReadUntilAsync(Return, cancellationToken);
            return us;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _raw.SendAsync("{\"execute\":\"quit\"}\n"u8.ToArray(), CancellationToken.None);
                await _qemu.WaitForExitAsync();
            }
            finally
            {
                KillIfRunning(_qemu);
                _socket.Dispose();
                _listener.Dispose();
                File.Delete(_sock);
                _qemu.Dispose();
            }
        }
    }

    /// <summary>Line reading over a socket with one reusable buffer: the least any QMP client must do.</summary>
    private sealed class RawQmp(Socket socket)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task SendAsync(byte[] message, CancellationToken cancellationToken) =>
            await socket.SendAsync(message, SocketFlags.None, cancellationToken);

        public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            (int start, int length) = await NextLineAsync(cancellationToken);
            return Encoding.UTF8.GetString(_buffer, start, length);
        }

        /// <summary>Skips lines until one contains <paramref name="marker"/>.</summary>
        public async Task ReadUntilAsync(byte[] marker, CancellationToken cancellationToken)
        {
            while (true)
            {
                (int start, int length) = await NextLineAsync(cancellationToken);
                if (_buffer.AsSpan(start, length).IndexOf(marker) >= 0)
                {
                    return;
                }
            }
        }

        private async Task<(int Start, int Length)> NextLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline >= 0)
                {
                    int start = _start;
                    _start = newline + 1;
                    return (start, newline - start);
                }

                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }

                int n = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    throw new EndOfStreamException("QEMU closed the QMP socket.");
                }

                _end += n;
            }
        }
    }
}
