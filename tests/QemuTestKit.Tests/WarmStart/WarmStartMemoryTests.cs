using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.WarmStart;

/// <summary>Whether a state maps its RAM or streams it, and what that adds to the plan: no VM boots.</summary>
public sealed class WarmStartMemoryTests
{
    private static QemuProfile Tiny => BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

    [Theory]
    [InlineData("256", "256M")]
    [InlineData("256M", "256M")]
    [InlineData("1g", "1G")]
    [InlineData("size=512M", "512M")]
    [InlineData("256M,slots=2,maxmem=1G", null)]
    [InlineData("lots", null)]
    public void A_bare_number_is_MiB_for_the_backend_as_it_is_for_dash_m(string memory, string? expected) =>
        Assert.Equal(expected, WarmStartMemory.BackendSize(memory));

    [Fact]
    public void Tiny_on_this_QEMU_maps_its_RAM_shared_to_save_and_private_to_restore()
    {
        QemuLaunchPlan plan = WarmStartKeyTests.Plan(Tiny);
        WarmStartMemory memory = WarmStartMemory.Decide(plan, "7.2.22", mapAllowed: true);

        Assert.True(memory.Mapped, memory.StreamReason);
        Assert.Equal("256M", memory.Size);
        IReadOnlyList<string> saving = memory.Apply(plan, "/cache/a,b/ram", shared: true).Arguments;
        IReadOnlyList<string> restoring = memory.Apply(plan, "/cache/a,b/ram", shared: false).Arguments;
        Assert.Equal([.. plan.Arguments, "-object", "memory-backend-file,id=qtk-warm-ram,size=256M,mem-path=/cache/a,,b/ram,share=on", "-machine", "memory-backend=qtk-warm-ram"], saving);
        Assert.Equal("memory-backend-file,id=qtk-warm-ram,size=256M,mem-path=/cache/a,,b/ram,share=off", restoring[^3]);
    }

    [Theory]
    [InlineData("4.2.1", null, "older than 5.0")]
    [InlineData("7.2.22", new[] { "-object", "memory-backend-ram,id=mine,size=256M", "-machine", "memory-backend=mine" }, "chooses its own memory")]
    [InlineData("7.2.22", new[] { "-mem-path", "/dev/hugepages" }, "chooses its own memory")]
    public void Mapping_falls_back_to_the_stream_where_it_does_not_apply(string version, string[]? args, string reason)
    {
        QemuLaunchPlan plan = WarmStartKeyTests.Plan(Tiny with { Args = args ?? [] });

        WarmStartMemory memory = WarmStartMemory.Decide(plan, version, mapAllowed: true);

        Assert.False(memory.Mapped);
        Assert.Contains(reason, memory.StreamReason, StringComparison.Ordinal);
        Assert.Same(plan, memory.Apply(plan, "/cache/ram", shared: false));
    }

    [Fact]
    public void Mapping_falls_back_when_the_caller_turns_it_off_or_the_profile_has_no_plain_size()
    {
        Assert.Contains("MapMemory = false", WarmStartMemory.Decide(WarmStartKeyTests.Plan(Tiny), "7.2.22", mapAllowed: false).StreamReason, StringComparison.Ordinal);
        Assert.Contains("sets no memory size", WarmStartMemory.Decide(WarmStartKeyTests.Plan(Tiny with { Memory = null }), "7.2.22", true).StreamReason, StringComparison.Ordinal);
        Assert.Contains("not a plain size", WarmStartMemory.Decide(WarmStartKeyTests.Plan(Tiny with { Memory = "256M,maxmem=1G" }), "7.2.22", true).StreamReason, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Key_differs_between_a_mapped_and_a_streamed_state_of_the_same_guest()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuLaunchPlan plan = WarmStartKeyTests.Plan(Tiny);

        WarmStartKey mapped = await WarmStartKey.ComputeAsync(plan, mapMemory: true, ct);
        WarmStartKey streamed = await WarmStartKey.ComputeAsync(plan, mapMemory: false, ct);

        Assert.True(mapped.Memory.Mapped);
        Assert.False(streamed.Memory.Mapped);
        Assert.NotEqual(mapped.Hash, streamed.Hash);
        Assert.Equal("mapped-file:256M", mapped.Inputs["memory"]!.GetValue<string>());
        Assert.Equal("stream", streamed.Inputs["memory"]!.GetValue<string>());
        Assert.Equal(mapped.Hash, (await WarmStartKey.ComputeAsync(plan, ct)).Hash);
    }

    [Fact]
    public void A_RAM_file_is_copied_private_and_sparse_with_its_contents_and_length()
    {
        using var scratch = new ScratchDirectory("qtk-warmram");
        string source = Path.Combine(scratch.Path, "source");
        string copy = Path.Combine(scratch.Path, "copy");
        using (var stream = File.Create(source))
        {
            stream.SetLength(8L << 20);
            stream.Position = 3 << 20;
            stream.Write("guest page"u8);
            stream.Position = 5 << 20;
            stream.Write(new byte[128 * 1024]); // written zeros: allocated in the source, a hole in the copy
            stream.Position = (8L << 20) - 1;
            stream.WriteByte(7);
        }

        long written = WarmStartSparseCopy.Copy(source, copy);

        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(copy));
        // The two written pages at most in 64 KiB blocks (in file-system blocks where the file system reports its holes);
        // never the 128 KiB of written zeros.
        Assert.InRange(written, 11, 2 * 64 * 1024);
        Assert.Equal(8L << 20, new FileInfo(copy).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(copy));
        }
    }
}
