using System.Text;

namespace QemuTestKit.Tests.Console;

/// <summary>
/// The window's ring on its own: whatever the sizes of the pieces and where they wrap, every slice it hands out is exactly the
/// kept text, contiguous, and text is dropped only when it is more than the window behind the end.
/// </summary>
public sealed class ConsoleWindowBufferTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 2)]
    [InlineData(1024, 3)]
    public void Every_slice_is_the_kept_text_whatever_the_piece_sizes_and_the_wraps(int maxLength, int seed)
    {
        var window = new ConsoleWindow(maxLength);
        var all = new StringBuilder();
        var random = new Random(seed);
        for (int step = 0; step < 2_000; step++)
        {
            // Reserve some room, fill part of it (as a decoder that stops early does), commit that part.
            int room = random.Next(0, maxLength + 1);
            int used = random.Next(0, room + 1);
            Span<char> span = window.Reserve(room);
            for (int i = 0; i < used; i++)
            {
                span[i] = (char)('a' + ((all.Length + i) % 26));
            }

            window.Commit(used);
            all.Append(span[..used]);

            long end = all.Length;
            Assert.Equal(end, window.End);
            Assert.Equal(Math.Max(0, end - maxLength), window.Start);
            long from = window.Start + random.Next(0, (int)(end - window.Start) + 1);
            long to = from + random.Next(0, (int)(end - from) + 1);
            Assert.Equal(all.ToString((int)window.Start, (int)(end - window.Start)), window.From(0).ToString());
            Assert.Equal(all.ToString((int)from, (int)(to - from)), window.Slice(from, to).ToString());
        }
    }

    [Fact]
    public void Committing_more_than_was_reserved_is_refused()
    {
        var window = new ConsoleWindow(16);
        window.Reserve(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => window.Commit(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => window.Reserve(17));
    }
}
