using System.Net;
using System.Net.Sockets;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// The guest toolkit against the real tiny guest: waits, port forwarding, restrict=on. The same test source on every
/// architecture: one derived class per architecture, each with its own VM (screenshots: <see cref="GuestScreenshotTests"/>).
/// </summary>
public abstract class GuestToolkitTests(ToolkitGuest vm)
{
    private const int Timeout = 300_000;

    [Fact(Timeout = Timeout)]
    public async Task A_server_in_the_guest_is_reached_through_a_forwarded_port()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.Equal(vm.Architecture, await vm.Machine.Console.RunAsync("uname -m", cancellationToken: ct));
        await vm.Machine.Console.RunAsync("mkdir -p /tmp/www && echo hello-from-guest > /tmp/www/index.html && httpd -p 8080 -h /tmp/www", cancellationToken: ct);
        await vm.Guest.WaitForOpenPortAsync(8080, cancellationToken: ct);

        IPEndPoint endpoint = await vm.Guest.ForwardPortAsync(8080, ct);

        Assert.Equal(IPAddress.Loopback, endpoint.Address);
        Assert.NotEqual(0, endpoint.Port);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        string body = await http.GetStringAsync(new Uri($"http://{endpoint}/index.html"), ct);
        Assert.Equal("hello-from-guest\n", body);
        Assert.Equal(endpoint, await vm.Guest.ForwardPortAsync(8080, ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task WaitUntilSucceeds_returns_the_output_once_a_background_job_wrote_the_file()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await vm.Machine.Console.RunAsync("rm -f /tmp/late; (sleep 2; echo written-late > /tmp/late) &", cancellationToken: ct);

        string output = await vm.Guest.WaitUntilSucceedsAsync("cat /tmp/late", TimeSpan.FromSeconds(120), ct);

        Assert.Equal("written-late", output.Trim());
    }

    [Fact(Timeout = Timeout)]
    public async Task WaitForFile_returns_once_a_background_job_created_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await vm.Machine.Console.RunAsync("rm -f /tmp/appears; (sleep 2; touch /tmp/appears) &", cancellationToken: ct);

        await vm.Guest.WaitForFileAsync("/tmp/appears", TimeSpan.FromSeconds(120), ct);

        ConsoleExecResult check = await vm.Machine.Console.ExecAsync("test -e /tmp/appears", cancellationToken: ct);
        Assert.Equal(0, check.ExitCode);
    }

    [Fact(Timeout = Timeout)]
    public async Task A_wait_that_times_out_says_what_it_waited_for_how_long_and_the_console_tail()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await vm.Machine.Console.RunAsync("echo console-evidence-line", cancellationToken: ct);

        var file = await Assert.ThrowsAsync<TimeoutException>(() => vm.Guest.WaitForFileAsync("/tmp/never-there", TimeSpan.FromSeconds(3), ct));
        var port = await Assert.ThrowsAsync<TimeoutException>(() => vm.Guest.WaitForOpenPortAsync(4321, TimeSpan.FromSeconds(2), ct));
        var command = await Assert.ThrowsAsync<TimeoutException>(() => vm.Guest.WaitUntilSucceedsAsync("test -e /tmp/never-there", TimeSpan.FromSeconds(3), ct));

        Assert.Contains("WaitForFileAsync(\"/tmp/never-there\")", file.Message, StringComparison.Ordinal);
        Assert.Contains("within 3 s", file.Message, StringComparison.Ordinal);
        Assert.Contains("Console tail:", file.Message, StringComparison.Ordinal);
        Assert.Contains("console-evidence-line", file.Message, StringComparison.Ordinal);
        Assert.Contains("guest TCP port 4321", port.Message, StringComparison.Ordinal);
        Assert.Contains("within 2 s", port.Message, StringComparison.Ordinal);
        Assert.Contains("last status 1", command.Message, StringComparison.Ordinal);

        // The shell is usable after the timeouts.
        Assert.Equal("still-here", await vm.Machine.Console.RunAsync("echo still-here", cancellationToken: ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task With_restrict_on_the_guest_cannot_reach_a_host_service_that_was_not_forwarded()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        ConsoleExecResult connect = await vm.Machine.Console.ExecAsync($"echo x | nc -w 5 10.0.2.2 {port}", TimeSpan.FromSeconds(120), ct);
        ConsoleExecResult outside = await vm.Machine.Console.ExecAsync($"echo x | nc -w 5 127.0.0.1 {port}", TimeSpan.FromSeconds(120), ct);

        Assert.NotEqual(0, connect.ExitCode);
        Assert.NotEqual(0, outside.ExitCode);
        Assert.False(listener.Pending(), "the host listener got a connection from the guest");
    }
}
