using System.Buffers;
using System.IO.Pipelines;

namespace QemuTestKit.Tests.Infrastructure;

/// <summary>Line reading for the scripted protocol peers (the fake QMP server and the fake guest agent).</summary>
internal static class PipeLines
{
    /// <summary>The next <c>\n</c>-terminated line the client wrote, without the newline.</summary>
    /// <exception cref="EndOfStreamException">The client closed its side before a whole line arrived.</exception>
    public static async Task<byte[]> ReadLineAsync(PipeReader reader)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(TestContext.Current.CancellationToken);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } newline)
            {
                byte[] line = buffer.Slice(0, newline).ToArray();
                reader.AdvanceTo(buffer.GetPosition(1, newline));
                return line;
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                throw new EndOfStreamException("The client closed its side of the connection.");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
