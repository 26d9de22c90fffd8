using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Launch;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.WarmStart;

/// <summary>
/// The copy-on-write restore with real QEMU and the tiny guest: restored VMs map the saved RAM file privately, and the
/// stream restore where mapping does not apply. Two cold boots and three restores in all.
/// </summary>
public sealed class WarmStartMappedTests : IDisposable
{
    private readonly ScratchDirectory _cache = new("qtk-warmmap");
    private readonly ConcurrentQueue<string> _progress = new();
    private readonly BootedMachines _machines = new();

    private static QemuProfile Tiny => BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

    [Fact(Timeout = 300_000)]
    public async Task Two_VMs_restored_from_one_mapped_state_answer_and_never_write_its_RAM_file()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        WarmStartResult saved = await LaunchAsync(Tiny, mapMemory: true, ct);
        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        Assert.True(saved.MemoryMapped);
        string ram = Path.Combine(saved.StateDirectory!, "ram");
        string before = await HashAsync(ram, ct);

        WarmStartResult b = await LaunchAsync(Tiny, mapMemory: true, ct);
        WarmStartResult c = await LaunchAsync(Tiny, mapMemory: true, ct);

        foreach (WarmStartResult restored in new[] { b, c })
        {
            Assert.Equal(WarmStartMode.Restored, restored.Mode);
            Assert.True(restored.MemoryMapped);
            Assert.Null(restored.Warning);
            Assert.Contains($"mem-path={ram},share=off", string.Join(' ', restored.Machine.CommandLine), StringComparison.Ordinal);

            // QEMU maps the saved file itself (not a copy), and the guest answers from it.
            string maps = await File.ReadAllTextAsync($"/proc/{restored.Machine.Pid}/maps", ct);
            Assert.Contains(ram, maps, StringComparison.Ordinal);
            Assert.Equal("answer", await restored.Machine.Console.RunAsync("echo answer", cancellationToken: ct));

            // QEMU read the state from the descriptor the kit passed over QMP: no shell and no cat were started for it.
            string transcript = restored.Machine.Qmp.Transcript.ToString();
            Assert.Contains("fd:qtk-warmstart-state", transcript, StringComparison.Ordinal);
            Assert.DoesNotContain("exec:cat", transcript, StringComparison.Ordinal);
        }

        // Every VM writes guest memory (a tmpfs file is RAM), the saving one included: its RAM is its own file, not the state's.
        foreach (WarmStartResult r in new[] { saved, b, c })
        {
            Assert.Equal(0, (await r.Machine.Console.ExecAsync("dd if=/dev/urandom of=/tmp/fill bs=1024 count=8192 2>/dev/null && sync", cancellationToken: ct)).ExitCode);
        }

        Assert.Equal(0, (await b.Machine.Console.ExecAsync("echo from-b > /tmp/marker", cancellationToken: ct)).ExitCode);
        Assert.NotEqual(0, (await c.Machine.Console.ExecAsync("cat /tmp/marker", cancellationToken: ct)).ExitCode);

        await _machines.ShutdownAllAsync(ct);
        Assert.Equal(before, await HashAsync(ram, ct));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_profile_with_its_own_memory_backend_saves_and_restores_through_the_stream()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile own = Tiny with { Args = ["-object", "memory-backend-ram,id=mine,size=256M", "-machine", "memory-backend=mine"] };

        WarmStartResult saved = await LaunchAsync(own, mapMemory: true, ct);
        WarmStartResult restored = await LaunchAsync(own, mapMemory: true, ct);

        Assert.Equal(WarmStartMode.Saved, saved.Mode);
        Assert.Equal(WarmStartMode.Restored, restored.Mode);
        Assert.False(saved.MemoryMapped);
        Assert.False(restored.MemoryMapped);
        Assert.Contains(_progress, line => line.Contains("RAM streamed: profile 'tiny' chooses its own memory", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(saved.StateDirectory!, "ram")), "a stream state has no RAM file");
        JsonNode metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(saved.StateDirectory!, "metadata.json"), ct))!;
        Assert.Equal("stream", metadata["memory"]!.GetValue<string>());
        Assert.True(metadata["stateBytes"]!.GetValue<long>() > 1_000_000, "the stream holds the RAM");
        Assert.DoesNotContain("qtk-warm-ram", string.Join(' ', restored.Machine.CommandLine), StringComparison.Ordinal);
        Assert.Equal("answer", await restored.Machine.Console.RunAsync("echo answer", cancellationToken: ct));

        await _machines.ShutdownAllAsync(ct);
    }

    public void Dispose()
    {
        _machines.Dispose();
        _cache.Dispose();
    }

    private static async Task<string> HashAsync(string path, CancellationToken ct)
    {
        await using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    private Task<WarmStartResult> LaunchAsync(QemuProfile profile, bool mapMemory, CancellationToken ct) =>
        _machines.WarmLaunchAsync(profile, new WarmStartOptions { CacheDirectory = _cache.Path, Progress = _progress.Enqueue, MapMemory = mapMemory }, ct);
}
