using System.Text;

namespace QemuTestKit.Tests.Console;

/// <summary>
/// The literal filter finds all its byte-searched texts with one pass over a read (one anchor byte per text, each candidate
/// checked whole): it answers exactly what a search for each text in the read and across the read boundary answers.
/// </summary>
public sealed class ConsoleLiteralAnchorTests
{
    [Fact]
    public void One_anchor_pass_answers_what_a_search_for_each_text_answers()
    {
        // A small alphabet makes anchors, partial texts and overlapping candidates frequent; the texts repeat their own
        // bytes (the anchor can occur more than once in a text) and include multi-byte characters.
        string[] alphabet = ["a", "b", "K", "-", "\n", " ", "é", "✓"];
        var random = new Random(18);
        int hits = 0;
        for (int round = 0; round < 300; round++)
        {
            int count = random.Next(1, ConsoleLiteralFilter.MaxByteSearches + 1);
            string[] texts = [.. Enumerable.Range(0, count).Select(_ => string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => alphabet[random.Next(alphabet.Length)])))];
            byte[][] needles = [.. texts.Select(Encoding.UTF8.GetBytes)];
            var filter = new ConsoleLiteralFilter();
            filter.Rebuild(texts);
            byte[] stream = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 400).Select(_ => alphabet[random.Next(alphabet.Length)])));
            int at = 0;
            while (at < stream.Length)
            {
                // Reads split anywhere, inside multi-byte characters too.
                int n = Math.Min(stream.Length - at, random.Next(1, 40));
                ReadOnlySpan<byte> read = stream.AsSpan(at, n);
                ReadOnlySpan<byte> before = stream.AsSpan(Math.Max(0, at - (ConsoleLiteralFilter.MaxTextBytes - 1)), Math.Min(at, ConsoleLiteralFilter.MaxTextBytes - 1));
                byte[] joint = [.. before, .. read[..Math.Min(n, ConsoleLiteralFilter.MaxTextBytes - 1)]];
                bool expected = false;
                foreach (byte[] needle in needles)
                {
                    expected |= read.IndexOf(needle) >= 0 || joint.AsSpan().IndexOf(needle) >= 0;
                }

                // Never a miss: a text that ends in this read is always reported.
                bool endsHere = needles.Any(needle => stream.AsSpan(0, at + n).LastIndexOf(needle) is int i && i >= 0 && i + needle.Length > at);
                bool actual = filter.MayMatch(read);
                Assert.True(expected == actual, $"texts [{string.Join(" | ", texts)}], read at {at} of {n} bytes: expected {expected}, got {actual}");
                Assert.True(!endsHere || actual, $"texts [{string.Join(" | ", texts)}]: a text ending in the read at {at} was missed");
                hits += actual ? 1 : 0;
                filter.Remember(read);
                at += n;
            }
        }

        Assert.True(hits > 100, $"only {hits} reads held a text: the test would not show a miss");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5000)]
    [InlineData(65_000)]
    public void A_read_dense_with_anchor_bytes_is_answered_exactly(int textAt)
    {
        // Capitals everywhere (a text's anchor is its capital), three candidates every 21 bytes: at 0 and 1 the text is found
        // by the anchor pass, at 5000 and 65000 only after the switch to one search per text; the answer must not change.
        var filter = new ConsoleLiteralFilter();
        filter.Rebuild(["Kernel panic", "FLOOD-END"]);
        byte[] read = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("KFKernel panFLOOD-EN ", 65_536 / 21 + 1)))[..65_536];
        Assert.False(filter.MayMatch(read), "no text is in the read yet");

        "Kernel panic"u8.CopyTo(read.AsSpan(textAt));
        Assert.True(filter.MayMatch(read), $"'Kernel panic' at {textAt} after {textAt / 21 * 3} anchor candidates was missed");
    }

    [Fact]
    public void A_text_whose_anchor_repeats_inside_it_is_found_however_the_candidates_overlap()
    {
        var filter = new ConsoleLiteralFilter();
        filter.Rebuild(["K-K-Kx"]);

        Assert.False(filter.MayMatch("K-K-K-K-K-K-K"u8));
        filter.Remember("K-K-K-K-K-K-K"u8);
        Assert.False(filter.MayMatch("\n\n\n"u8.ToArray().Concat(Enumerable.Repeat((byte)' ', 300)).ToArray()));
        filter.Remember(Enumerable.Repeat((byte)' ', 300).ToArray());
        Assert.True(filter.MayMatch("zzK-K-K-K-Kxzz"u8));
    }
}
