using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using QemuTestKit.Qga;

namespace QemuTestKit.Benchmarks;

/// <summary>
/// The guest agent channel's file throughput: <see cref="QgaClient"/> against a minimal raw-socket client doing the
/// same guest-file-open/write/read/close calls in 1 MiB base64 blocks, alternating (ABBA), 16 MiB each way, both
/// talking to one Debian qemu-ga run on the host on a unix socket (no guest, so the agent and the client are all that
/// is measured). Also the round trip of <c>ExecAsync("/bin/true")</c>, and the copies of <see cref="QemuGuest"/> on the
/// tiny guest through the console channel (<see cref="GuestFilesConsole"/>) and through the agent channel, qemu-ga in
/// the guest (<see cref="GuestFilesAgent"/>).
/// </summary>
internal sealed class GuestFilesSuite : IBenchmarkSuite
{
    private const int Rounds = 8;
    private const int FileBytes = 16 * 1024 * 1024;
    private const int BlockBytes = 1024 * 1024;
    private const int ExecRounds = 50;

    public string Name => "guest-files";

    public async Task RunAsync(BenchmarkReport report, CancellationToken cancellationToken)
    {
        string folder = Directory.CreateTempSubdirectory("qtk-bench-qga-").FullName;
        string socketPath = Path.Combine(folder, "qga.sock");
        using Process agent = Process.Start(new ProcessStartInfo("qemu-ga")
        {
            ArgumentList = { "-m", "unix-listen", "-p", socketPath, "-t", folder, "-f", Path.Combine(folder, "qga.pid"), "-l", Path.Combine(folder, "qga.log"), "-b", "guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fstrim" },
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("qemu-ga did not start; apt-get install -y qemu-guest-agent");
        try
        {
            byte[] content = new byte[FileBytes];
            new Random(16).NextBytes(content);
            string path = Path.Combine(folder, "blob.bin");
            var ourWrite = new List<double>();
            var ourRead = new List<double>();
            var rawWrite = new List<double>();
            var rawRead = new List<double>();
            var exec = new List<double>();

            // qemu-ga serves one connection at a time: each side connects (untimed), measures, and disconnects.
            await OursAsync(socketPath, path, content, cancellationToken); // warm-up (JIT, page cache), not recorded
            await RawAsync(socketPath, path, content, cancellationToken);
            for (int i = 0; i < Rounds; i++)
            {
                // ABBA: whoever goes first in a pair pays for any drift in the box's load.
                bool oursFirst = i % 2 == 0;
                for (int k = 0; k < 2; k++)
                {
                    bool ours = (k == 0) == oursFirst;
                    (double w, double r) = ours
                        ? await OursAsync(socketPath, path, content, cancellationToken)
                        : await RawAsync(socketPath, path, content, cancellationToken);
                    (ours ? ourWrite : rawWrite).Add(w);
                    (ours ? ourRead : rawRead).Add(r);
                }

                Console.Error.WriteLine($"guest-files: round {i + 1}/{Rounds}: write {ourWrite[^1]:0.0} vs {rawWrite[^1]:0.0} MB/s, read {ourRead[^1]:0.0} vs {rawRead[^1]:0.0} MB/s");
            }

            await using (QgaClient client = await ConnectAsync(socketPath, cancellationToken))
            {
                for (int i = 0; i < ExecRounds; i++)
                {
                    var clock = Stopwatch.StartNew();
                    QgaExecResult result = await client.ExecAsync("/bin/true", cancellationToken: cancellationToken);
                    exec.Add(clock.Elapsed.TotalMilliseconds);
                    if (result.ExitCode != 0)
                    {
                        throw new InvalidOperationException($"/bin/true exited with {result.ExitCode}");
                    }
                }
            }

            double ourWriteMedian = BenchmarkReport.Summarize(ourWrite).Median;
            double ourReadMedian = BenchmarkReport.Summarize(ourRead).Median;
            double rawWriteMedian = BenchmarkReport.Summarize(rawWrite).Median;
            double rawReadMedian = BenchmarkReport.Summarize(rawRead).Median;
            report.Result("file_bytes", FileBytes);
            report.Result("rounds", Rounds);
            report.Result("agent_write_mb_per_s", ourWriteMedian);
            report.Result("agent_read_mb_per_s", ourReadMedian);
            report.Result("raw_agent_write_mb_per_s", rawWriteMedian);
            report.Result("raw_agent_read_mb_per_s", rawReadMedian);
            report.Result("agent_exec_true_median_ms", BenchmarkReport.Summarize(exec).Median);

            // Throughput: above 1 means ours is faster.
            report.Ratio("agent_write_ours_over_raw", ourWriteMedian / rawWriteMedian);
            report.Ratio("agent_read_ours_over_raw", ourReadMedian / rawReadMedian);

            // The console channel, on the tiny guest: what every guest with a shell gets without an agent.
            await GuestFilesConsole.RunAsync(report, cancellationToken);

            // The agent channel, on the same tiny guest with "guestAgent": true: what QemuGuest's copies use once it is connected.
            await GuestFilesAgent.RunAsync(report, cancellationToken);
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill();
            }

            await agent.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<QgaClient> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await QgaClient.ConnectAsync(socketPath, cancellationToken: cancellationToken);
            }
            catch (SocketException) when (attempt < 500)
            {
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    private static async Task<(double WriteMBps, double ReadMBps)> RawAsync(string socketPath, string path, byte[] content, CancellationToken cancellationToken)
    {
        using RawClient raw = await RawClient.ConnectAsync(socketPath, cancellationToken);
        return await raw.RoundTripAsync(path, content, cancellationToken);
    }

    private static async Task<(double WriteMBps, double ReadMBps)> OursAsync(string socketPath, string path, byte[] content, CancellationToken cancellationToken)
    {
        await using QgaClient client = await ConnectAsync(socketPath, cancellationToken);
        var clock = Stopwatch.StartNew();
        await client.WriteFileAsync(path, content, cancellationToken);
        double write = clock.Elapsed.TotalSeconds;
        clock.Restart();
        byte[] back = await client.ReadFileAsync(path, cancellationToken);
        double read = clock.Elapsed.TotalSeconds;
        Check(content, back);
        return (content.Length / 1e6 / write, content.Length / 1e6 / read);
    }

    private static void Check(byte[] content, byte[] back)
    {
        if (!content.AsSpan().SequenceEqual(back))
        {
            throw new InvalidOperationException("the file read back differs from the one written");
        }
    }

    /// <summary>The reference: one command at a time on a plain socket, one line per reply, no ids, no transcript.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly StreamReader _reader;

        private RawClient(Socket socket)
        {
            _socket = socket;
            _stream = new NetworkStream(socket);
            _reader = new StreamReader(_stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024);
        }

        public static async Task<RawClient> ConnectAsync(string path, CancellationToken cancellationToken)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new RawClient(socket);
        }

        public async Task<(double WriteMBps, double ReadMBps)> RoundTripAsync(string path, byte[] content, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            long handle = (await CallAsync($$$"""{"execute": "guest-file-open", "arguments": {"path": {{{JsonSerializer.Serialize(path)}}}, "mode": "w"}}""", cancellationToken)).GetInt64();
            for (int offset = 0; offset < content.Length; offset += BlockBytes)
            {
                string block = Convert.ToBase64String(content, offset, Math.Min(BlockBytes, content.Length - offset));
                await CallAsync($$$"""{"execute": "guest-file-write", "arguments": {"handle": {{{handle}}}, "buf-b64": "{{{block}}}"}}""", cancellationToken);
            }

            await CallAsync($$$"""{"execute": "guest-file-close", "arguments": {"handle": {{{handle}}}}}""", cancellationToken);
            double write = clock.Elapsed.TotalSeconds;
            clock.Restart();
            handle = (await CallAsync($$$"""{"execute": "guest-file-open", "arguments": {"path": {{{JsonSerializer.Serialize(path)}}}, "mode": "r"}}""", cancellationToken)).GetInt64();
            using var back = new MemoryStream();
            while (true)
            {
                JsonElement block = await CallAsync($$$"""{"execute": "guest-file-read", "arguments": {"handle": {{{handle}}}, "count": {{{BlockBytes}}}}}""", cancellationToken);
                back.Write(block.GetProperty("buf-b64").GetBytesFromBase64());
                if (block.GetProperty("eof").GetBoolean() || block.GetProperty("count").GetInt32() == 0)
                {
                    break;
                }
            }

            await CallAsync($$$"""{"execute": "guest-file-close", "arguments": {"handle": {{{handle}}}}}""", cancellationToken);
            double read = clock.Elapsed.TotalSeconds;
            Check(content, back.ToArray());
            return (content.Length / 1e6 / write, content.Length / 1e6 / read);
        }

        private async Task<JsonElement> CallAsync(string json, CancellationToken cancellationToken)
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(json + "\n"), cancellationToken);
            string line = await _reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("qemu-ga closed the connection");
            JsonElement reply = JsonSerializer.Deserialize<JsonElement>(line);
            return reply.TryGetProperty("return", out JsonElement value) ? value : throw new InvalidOperationException("qemu-ga: " + line);
        }

        public void Dispose()
        {
            _reader.Dispose();
            _stream.Dispose();
            _socket.Dispose();
        }
    }
}
