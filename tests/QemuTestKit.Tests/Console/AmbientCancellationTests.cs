namespace QemuTestKit.Tests.Console;

// The point of these tests is a call made without a token: the analyzer rule that asks for one does not apply.
#pragma warning disable xUnit1051, xUnit1069

/// <summary>Console calls made without a token follow the ambient one (QemuVm: the current test's); a caller's own token wins.</summary>
public sealed class AmbientCancellationTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_wait_without_a_token_ends_when_the_ambient_token_cancels()
    {
        using var ambient = new CancellationTokenSource();
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync(new QemuConsoleOptions { AmbientCancellation = () => ambient.Token });

        Task wait = peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMinutes(10));
        Task run = peer.Console.RunAsync("sleep 600", TimeSpan.FromMinutes(10));
        await ambient.CancelAsync();

        Assert.Equal(ambient.Token, (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait)).CancellationToken);
        Assert.Equal(ambient.Token, (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run)).CancellationToken);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_callers_token_is_used_instead_of_the_ambient_one()
    {
        using var ambient = new CancellationTokenSource();
        await ambient.CancelAsync();
        await using FakeConsolePeer peer = await FakeConsolePeer.StartAsync(new QemuConsoleOptions { AmbientCancellation = () => ambient.Token });

        // The ambient token is cancelled already, but the caller passed its own: the wait runs to its own timeout.
        await Assert.ThrowsAsync<TimeoutException>(() => peer.Console.WaitForAsync("never", timeout: TimeSpan.FromMilliseconds(200), cancellationToken: TestContext.Current.CancellationToken));
    }
}
