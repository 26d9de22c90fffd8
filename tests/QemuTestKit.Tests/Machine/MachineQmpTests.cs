using System.Text.Json;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Machine;

public sealed class MachineQmpTests
{
    [Fact(Timeout = 60_000)]
    public async Task Qmp_returns_the_raw_response_and_Command_throws()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);

        JsonElement ok = await machine.QmpAsync("query-status", cancellationToken: ct);
        JsonElement error = await machine.QmpAsync("no-such-command", cancellationToken: ct);
        var ex = await Assert.ThrowsAsync<QmpCommandException>(() => machine.CommandAsync("no-such-command", cancellationToken: ct));

        Assert.True(ok.GetProperty("return").GetProperty("running").GetBoolean());
        Assert.Equal("CommandNotFound", error.GetProperty("error").GetProperty("class").GetString());
        Assert.Equal("CommandNotFound", ex.ErrorClass);
        await machine.ShutdownAsync(cancellationToken: ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Keys_are_converted_unless_asked_not_to()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);

        await machine.CommandAsync("object-add", new { qom_type = "secret", id = "s0", data = "x" }, cancellationToken: ct);
        var dictionary = new Dictionary<string, object?> { ["qom_type"] = "secret", ["id"] = "s1", ["data"] = "y" };
        await machine.CommandAsync("object-add", dictionary, cancellationToken: ct);
        JsonElement unconverted = await machine.QmpAsync("object-add", new { qom_type = "secret", id = "s2", data = "z" }, convertKeys: false, cancellationToken: ct);
        var ex = await Assert.ThrowsAsync<QmpCommandException>(() => machine.CommandAsync("object-add", new { qom_type = "secret", id = "s3", data = "z" }, convertKeys: false, cancellationToken: ct));

        JsonElement objects = await machine.CommandAsync("qom-list", new { path = "/objects" }, cancellationToken: ct);
        string[] names = [.. objects.EnumerateArray().Select(o => o.GetProperty("name").GetString()!)];
        Assert.Contains("s0", names);
        Assert.Contains("s1", names);
        Assert.DoesNotContain("s2", names);
        Assert.Equal("GenericError", unconverted.GetProperty("error").GetProperty("class").GetString());
        Assert.Contains("qom-type", ex.Description, StringComparison.Ordinal);
        await machine.ShutdownAsync(cancellationToken: ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Events_are_queued_waited_for_and_matched()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);
        Assert.Null(machine.GetQmpEvent());

        await machine.CommandAsync("stop", cancellationToken: ct);
        await machine.CommandAsync("cont", cancellationToken: ct);
        await machine.CommandAsync("stop", cancellationToken: ct);

        // RESUME is found first; the STOP before it stays queued, in order (QEMUMachine's events_wait).
        QmpEvent? resume = await machine.EventWaitAsync("RESUME", timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);
        Assert.Equal("RESUME", resume!.Name);
        QmpEvent? first = machine.GetQmpEvent();
        Assert.Equal("STOP", first!.Name);
        QmpEvent second = await machine.GetQmpEventAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal("STOP", second.Name);

        // A zero timeout searches only what is queued.
        Assert.Null(await machine.EventWaitAsync("RESUME", timeout: TimeSpan.Zero, cancellationToken: ct));

        await machine.CommandAsync("cont", cancellationToken: ct);
        await machine.CommandAsync("system_reset", cancellationToken: ct);
        QmpEvent? reset = await machine.EventsWaitAsync(
            [("SHUTDOWN", null), ("RESET", new { data = new { reason = "host-qmp-system-reset" } })],
            TimeSpan.FromSeconds(30),
            ct);
        Assert.Equal("RESET", reset!.Name);
        Assert.True(QemuMachine.EventMatch(reset.Message, JsonDocument.Parse("""{"data": {"guest": false}}""").RootElement));
        Assert.False(QemuMachine.EventMatch(reset.Message, JsonDocument.Parse("""{"data": {"guest": true}}""").RootElement));

        IReadOnlyList<QmpEvent> rest = machine.GetQmpEvents();
        Assert.Equal(["RESUME"], rest.Select(e => e.Name));
        Assert.Empty(machine.GetQmpEvents());
        await machine.ShutdownAsync(cancellationToken: ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Quit_through_Qmp_counts_as_issued()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);

        JsonElement response = await machine.QmpAsync("quit", cancellationToken: ct);
        await machine.ShutdownAsync(cancellationToken: ct);

        Assert.True(response.TryGetProperty("return", out _));
        Assert.Equal(0, machine.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task AddFd_passes_an_inherited_descriptor_to_QEMU()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchDirectory();
        string file = Path.Combine(scratch.Path, "passed.img");
        await File.WriteAllBytesAsync(file, new byte[4096], ct);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        await using QemuMachine machine = MachineFactory.Bare();

        machine.AddFd(fd, fdset: 7, opaque: "my,file");
        await machine.LaunchAsync(ct);

        Assert.Contains($"fd={fd},set=7,opaque=my,,file", machine.Args);
        JsonElement fdsets = await machine.CommandAsync("query-fdsets", cancellationToken: ct);
        JsonElement set = Assert.Single(fdsets.EnumerateArray());
        Assert.Equal(7, set.GetProperty("fdset-id").GetInt32());
        Assert.Equal("my,file", Assert.Single(set.GetProperty("fds").EnumerateArray()).GetProperty("opaque").GetString());
        await machine.ShutdownAsync(cancellationToken: ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task SendFdScm_passes_a_file_for_getfd()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchDirectory();
        string file = Path.Combine(scratch.Path, "scm.txt");
        await File.WriteAllTextAsync(file, "x", ct);
        await using QemuMachine machine = MachineFactory.Bare();
        await machine.LaunchAsync(ct);

        await machine.SendFdScmAsync(file, ct);
        await machine.CommandAsync("getfd", new { fdname = "passed" }, cancellationToken: ct);
        await machine.CommandAsync("closefd", new { fdname = "passed" }, cancellationToken: ct);
        var ex = await Assert.ThrowsAsync<QmpCommandException>(() => machine.CommandAsync("closefd", new { fdname = "passed" }, cancellationToken: ct));

        Assert.Contains("passed", ex.Description, StringComparison.Ordinal);
        await machine.ShutdownAsync(cancellationToken: ct);
    }
}
