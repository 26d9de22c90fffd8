using System.Threading.Channels;

namespace QemuTestKit.Tests.Console;

/// <summary>A console's stream whose every read returns exactly one chunk the test wrote: read boundaries the test decides.</summary>
internal sealed class ChunkedStream : Stream
{
    private readonly Channel<byte[]> _chunks = Channel.CreateUnbounded<byte[]>();

    /// <summary>Queues one read's worth of bytes (at most the console's read size).</summary>
    public void Send(byte[] chunk) => _chunks.Writer.TryWrite(chunk);

    /// <summary>Ends the stream: the console's next read returns 0.</summary>
    public void End() => _chunks.Writer.TryComplete();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!await _chunks.Reader.WaitToReadAsync(cancellationToken))
        {
            return 0;
        }

        byte[] chunk = await _chunks.Reader.ReadAsync(cancellationToken);
        chunk.CopyTo(buffer);
        return chunk.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
    }

    protected override void Dispose(bool disposing)
    {
        End();
        base.Dispose(disposing);
    }
}
