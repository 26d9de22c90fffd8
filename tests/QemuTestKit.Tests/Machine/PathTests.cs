using System.Text.Json;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Machine;

/// <summary>Paths reach QEMU intact: commas are escaped for its option syntax; spaces and non-ASCII need nothing; long socket paths are handled.</summary>
public sealed class PathTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_temp_dir_with_a_comma_a_space_and_non_ASCII_works()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var baseDir = new ScratchDirectory("qtk a,b ü");
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Guest(new QemuMachineOptions { BaseTempDir = baseDir.Path });

        await MachineFactory.BootAsync(machine, ct);
        leaks.Record(machine);

        Assert.Contains(",,", string.Join(' ', machine.CommandLine.Where(a => a.StartsWith("socket,", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.StartsWith(baseDir.Path, machine.TempDir, StringComparison.Ordinal);
        Assert.Equal("Linux", await machine.Console.RunAsync("uname -s", cancellationToken: ct));
        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task An_image_path_with_a_comma_works_when_escaped()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var dir = new ScratchDirectory("img,dir ü");
        string image = Path.Combine(dir.Path, "disk,1 ü.img");
        await File.WriteAllBytesAsync(image, new byte[1024 * 1024], ct);
        await using QemuMachine machine = MachineFactory.Bare();
        machine.AddArgs("-drive", $"file={QemuMachine.EscapeOptionValue(image)},format=raw,if=none,id=d0");

        await machine.LaunchAsync(ct);

        JsonElement blocks = await machine.CommandAsync("query-block", cancellationToken: ct);
        JsonElement d0 = Assert.Single(blocks.EnumerateArray(), b => b.GetProperty("device").GetString() == "d0");
        Assert.Equal(image, d0.GetProperty("inserted").GetProperty("file").GetString());
        await machine.ShutdownAsync(cancellationToken: ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_too_long_configured_sock_dir_fails_with_a_clear_message()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchDirectory();
        string longDir = Path.Combine(scratch.Path, new string('s', 100));
        Directory.CreateDirectory(longDir);
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { SockDir = longDir, BaseTempDir = scratch.Path });

        var ex = await Assert.ThrowsAnyAsync<QemuMachineException>(() => machine.LaunchAsync(ct));

        Assert.Contains("limit is 107", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SockDir", ex.Message, StringComparison.Ordinal);
        Assert.False(machine.IsRunning);
        Assert.Equal([longDir], Directory.EnumerateFileSystemEntries(scratch.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_long_base_temp_dir_moves_the_sockets_to_a_short_private_folder()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchDirectory();
        string longBase = Path.Combine(scratch.Path, new string('b', 90));
        var leaks = new LeakCheck();
        await using QemuMachine machine = MachineFactory.Bare(new QemuMachineOptions { BaseTempDir = longBase });

        await machine.LaunchAsync(ct);
        leaks.Record(machine);

        Assert.StartsWith("/tmp/qtk-", machine.SockDir, StringComparison.Ordinal);
        Assert.StartsWith(longBase, machine.TempDir, StringComparison.Ordinal);
        Assert.True((await machine.CommandAsync("query-status", cancellationToken: ct)).GetProperty("running").GetBoolean());
        await machine.ShutdownAsync(cancellationToken: ct);
        await leaks.AssertNothingLeftAsync();
        Assert.Empty(Directory.EnumerateFileSystemEntries(longBase));
    }

    [Fact]
    public void Option_values_double_their_commas()
    {
        Assert.Equal("a,,b,,,,c d ü", QemuMachine.EscapeOptionValue("a,b,,c d ü"));
        Assert.Equal("path=/x,,y", QemuOptionValue.Pair("path", "/x,y"));
        Assert.True(QemuOptionValue.FitsUnixSocketPath(new string('a', 107)));
        Assert.False(QemuOptionValue.FitsUnixSocketPath(new string('a', 106) + "ü"));
        Assert.NotNull(TestPrerequisites.QemuBinary);
    }
}
