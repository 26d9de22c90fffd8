using System.Text;

namespace QemuTestKit.Tests.Console;

/// <summary>Runs alone: it measures the managed heap, which tests running beside it would disturb.</summary>
[CollectionDefinition(nameof(HeapMeasuringTests), DisableParallelization = true)]
public sealed class HeapMeasuringTests;

/// <summary>A chatty guest must not make waits slow or the test host's memory grow with the flood.</summary>
[Collection(nameof(HeapMeasuringTests))]
public sealed class ConsoleFloodTests
{
    private const long FloodBytes = 50L * 1024 * 1024;
    private const long HeapBound = 64L * 1024 * 1024;

    [Fact(Timeout = 180_000)]
    public async Task A_50_MB_flood_completes_a_pending_wait_with_bounded_memory()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // What the flood leaves behind is measured against the heap before it: the test process also holds what other
        // test classes (fixtures, caches, transcripts) keep alive, which is not the console's doing.
        long before = GC.GetTotalMemory(forceFullCollection: true);
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        peer.Console.FailurePatterns = [new System.Text.RegularExpressions.Regex("Kernel panic")];
        Task<ConsoleMatch> end = peer.Console.WaitForAsync("FLOOD-END", ["Oops"], TimeSpan.FromSeconds(150), ct);
        Task<ConsoleMatch> middle = peer.Console.WaitForAsync("FLOOD-MIDDLE", timeout: TimeSpan.FromSeconds(150), cancellationToken: ct);

        byte[] block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("y flood line of a chatty guest 0123456789\n", 1_600)));
        long sent = 0;
        while (sent < FloodBytes)
        {
            await peer.Guest.SendAsync(block, ct);
            sent += block.Length;
            if (sent >= FloodBytes / 2 && sent - block.Length < FloodBytes / 2)
            {
                await peer.WriteAsync("FLOOD-MIDDLE\n");
            }
        }

        await peer.WriteAsync("FLOOD-END\n");
        ConsoleMatch found = await end;
        await middle;
        long grown = GC.GetTotalMemory(forceFullCollection: true) - before;

        Assert.True(found.Index > FloodBytes, $"the end marker at {found.Index} should follow the {FloodBytes} bytes of flood");
        Assert.True(peer.Console.Text.Length <= QemuConsoleOptions.DefaultMaxTextLength, $"Text holds {peer.Console.Text.Length} characters");
        Assert.True(grown < HeapBound, $"managed heap kept after the flood and a full GC: {grown / (1024 * 1024)} MB more than before it (bound {HeapBound / (1024 * 1024)} MB)");
        GC.KeepAlive(peer);
    }
}
