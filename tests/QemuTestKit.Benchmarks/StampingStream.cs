using System.Diagnostics;

namespace QemuTestKit.Benchmarks;

/// <summary>Records when each read returned, by the running character count (the console text is ASCII here).</summary>
internal sealed class StampingStream(Stream inner) : Stream
{
    private readonly List<(long End, long Timestamp)> _reads = [];
    private long _total;

    public long TimestampOfReadContaining(long offset)
    {
        lock (_reads)
        {
            return _reads.First(r => r.End >= offset).Timestamp;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken);
        long now = Stopwatch.GetTimestamp();
        lock (_reads)
        {
            _total += n;
            _reads.Add((_total, now));
        }

        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
