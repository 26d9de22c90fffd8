using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// Suite <c>console</c>: how soon <see cref="QemuConsole.WaitForAsync(string, IEnumerable{string}?, TimeSpan?, CancellationToken)"/>
/// returns once the guest prints a line. The tiny guest runs one shell on ttyS0 (read by a QemuConsole) and one on ttyS1
/// (read by a raw socket loop, the reference); each round sends <c>echo X$((n))Y</c> to both in turn and times, from the
/// send, until the printed <c>X{n}Y</c> (absent from the echoed command line) is seen. Both paths cross the same guest,
/// QEMU and kernel, so their difference is the console's own cost. The console's stream is wrapped to timestamp the read
/// that delivered the line, which gives the dispatch latency (bytes in → wait returns) directly. The flood half is
/// <see cref="ConsoleFlood"/>.
/// </summary>
internal sealed class ConsoleBenchmark : IBenchmarkSuite
{
    private const int Rounds = 200;

    public string Name => "console";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        // The flood first, in a fresh process, so its memory figures are not the guest run's.
        await ConsoleFlood.RunAsync(report, cancellationToken);
        (string qemu, string guest) = (TestPrerequisites.QemuBinary, TestPrerequisites.GuestDirectory);
        string dir = Directory.CreateTempSubdirectory("qtk-bench-").FullName;
        string consoleSock = Path.Combine(dir, "con.sock");
        string rawSock = Path.Combine(dir, "raw.sock");
        await using var machine = new QemuMachine(qemu);
        machine.AddArgs(
            "-m", "256", "-nodefaults", "-no-reboot",
            "-kernel", Path.Combine(guest, "vmlinuz"), "-initrd", Path.Combine(guest, "initramfs.cpio.gz"),
            "-append", TestPrerequisites.Append,
            "-chardev", $"socket,id=con0,path={QemuMachine.EscapeOptionValue(consoleSock)},server=on,wait=off", "-serial", "chardev:con0",
            "-chardev", $"socket,id=raw,path={QemuMachine.EscapeOptionValue(rawSock)},server=on,wait=off", "-serial", "chardev:raw");
        try
        {
            await machine.LaunchAsync(cancellationToken);
            var consoleSocket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await consoleSocket.ConnectAsync(new UnixDomainSocketEndPoint(consoleSock), cancellationToken);
            var stamped = new StampingStream(new NetworkStream(consoleSocket, ownsSocket: true));
            await using QemuConsole console = QemuConsole.Create(stamped);
            using var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await raw.ConnectAsync(new UnixDomainSocketEndPoint(rawSock), cancellationToken);
            var rawReader = new RawReader(raw);

            await console.WaitForAsync("QEMUTESTKIT-READY", ["Kernel panic"], TimeSpan.FromSeconds(180), cancellationToken);
            await console.WaitForAsync("qtk# ", null, TimeSpan.FromSeconds(60), cancellationToken);
            await console.ExecAsync("setsid sh -c 'exec sh -i </dev/ttyS1 >/dev/ttyS1 2>&1' &", null, cancellationToken);

            // The second shell starts asynchronously, and a tty nobody has open drops input: retry until it answers.
            for (int attempt = 0; ; attempt++)
            {
                using var warm = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                warm.CancelAfter(TimeSpan.FromSeconds(2));
                try
                {
                    await rawReader.SendAndWaitAsync("echo warm-$((1+1))", "warm-2", warm.Token);
                    break;
                }
                catch (OperationCanceledException) when (attempt < 30 && !cancellationToken.IsCancellationRequested)
                {
                }
            }

            Console.Error.WriteLine("console: both shells answer; measuring");

            var ours = new List<double>();
            var dispatch = new List<double>();
            var reference = new List<double>();
            var overhead = new List<double>();
            for (int i = 0; i < Rounds + 10; i++)
            {
                int n = 100_000 + i;
                string marker = $"X{n}Y";
                long t0 = Stopwatch.GetTimestamp();
                await console.SendLineAsync($"echo X$(({n}))Y", cancellationToken);
                ConsoleMatch match = await console.WaitForAsync(marker, null, TimeSpan.FromSeconds(30), cancellationToken);
                long t1 = Stopwatch.GetTimestamp();
                long arrived = stamped.TimestampOfReadContaining(match.Index + match.Match.Length);
                await console.WaitForAsync("qtk# ", null, TimeSpan.FromSeconds(30), cancellationToken);

                double rawMs = await rawReader.SendAndWaitAsync($"echo X$(({n}))Y", marker, cancellationToken);
                if (i >= 10)
                {
                    // The first rounds warm up JIT and caches on both paths.
                    ours.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                    dispatch.Add(Stopwatch.GetElapsedTime(arrived, t1).TotalMilliseconds);
                    reference.Add(rawMs);
                    overhead.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds - rawMs);
                }
            }

            (double oursMedian, double oursP99) = BenchmarkReport.Summarize(ours);
            (double dispatchMedian, double dispatchP99) = BenchmarkReport.Summarize(dispatch);
            (double rawMedian, double rawP99) = BenchmarkReport.Summarize(reference);
            // The figure is "from the guest writing a line to WaitForAsync returning". The host first sees the
            // line when a socket read delivers it; from there to the wait returning is the console's own latency (what
            // Python's 0.5 s polling adds to). The echo round trip, which includes the TCG guest's work, is kept beside it.
            report.Result("console_wait_median_ms", dispatchMedian);
            report.Result("console_wait_p99_ms", dispatchP99);
            report.Result("console_roundtrip_median_ms", oursMedian);
            report.Result("console_roundtrip_p99_ms", oursP99);
            report.Result("raw_socket_roundtrip_median_ms", rawMedian);
            report.Result("raw_socket_roundtrip_p99_ms", rawP99);
            report.Result("console_overhead_vs_raw_median_ms", BenchmarkReport.Summarize(overhead).Median);
            report.Result("waits", Rounds);
            report.Result("method", JsonValue.Create(
                "console_wait = the socket read that delivered the guest's line -> WaitForAsync returned; console_roundtrip = sending 'echo X$((n))Y' -> WaitForAsync matching the printed X{n}Y (includes the TCG guest's own echo time); raw_socket_roundtrip = the same round trip through a plain socket read loop on ttyS1 of the same guest, interleaved; overhead = per-round difference of the two round trips. Python's console socket polls in 0.5 s steps.")!);
            report.Ratio("console_roundtrip_vs_raw_socket", oursMedian / rawMedian);
            await machine.ShutdownAsync(hard: true, cancellationToken: cancellationToken);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The reference: a plain socket loop that appends what it reads and searches it, no framework in between.</summary>
    private sealed class RawReader(Socket socket)
    {
        private readonly StringBuilder _text = new();
        private readonly byte[] _buffer = new byte[64 * 1024];

        public string Text => _text.ToString();

        public async Task<double> SendAndWaitAsync(string command, string marker, CancellationToken cancellationToken)
        {
            _text.Clear();
            long t0 = Stopwatch.GetTimestamp();
            await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), cancellationToken);
            while (true)
            {
                int n = await socket.ReceiveAsync(_buffer, cancellationToken);
                if (n == 0)
                {
                    throw new IOException("raw console closed");
                }

                _text.Append(Encoding.ASCII.GetString(_buffer, 0, n));
                string text = _text.ToString();
                int at = text.IndexOf(marker, StringComparison.Ordinal);
                if (at >= 0 && text.IndexOf("echo", StringComparison.Ordinal) is int echo && (echo < 0 || at > echo + command.Length - 5))
                {
                    double elapsed = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;

                    // Drain to the prompt so the next round starts clean (not timed).
                    while (!_text.ToString().EndsWith("# ", StringComparison.Ordinal) && !_text.ToString().Contains("# \x1b", StringComparison.Ordinal))
                    {
                        n = await socket.ReceiveAsync(_buffer, cancellationToken);
                        _text.Append(Encoding.ASCII.GetString(_buffer, 0, n));
                    }

                    return elapsed;
                }
            }
        }
    }
}
