using System.Text.Json;
using QemuTestKit.Qmp;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Machine;
using QemuTestKit.Tests.Qmp;

namespace QemuTestKit.Tests.WarmStart;

/// <summary>The cache key and the on/off decision: no VM boots.</summary>
public sealed class WarmStartKeyTests
{
    private static QemuProfile Tiny => BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

    /// <summary>The plan with the test's QEMU and TCG, whatever this host's KVM.</summary>
    internal static QemuLaunchPlan Plan(QemuProfile profile) =>
        QemuLaunchPlan.Resolve(profile, new QemuHost(_ => TestPrerequisites.QemuBinary, (_, _) => false, () => null));

    [Fact(Timeout = 60_000)]
    public async Task Key_changes_with_what_shapes_the_guest_and_not_with_where_the_files_are()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchDirectory("qtk-warmkey");

        string kernelCopy = Path.Combine(scratch.Path, "vmlinuz");
        File.Copy(Tiny.Kernel!, kernelCopy);
        string changedKernel = Path.Combine(scratch.Path, "vmlinuz-changed");
        File.Copy(Tiny.Kernel!, changedKernel);
        await File.AppendAllTextAsync(changedKernel, "x", ct);
        string changedInitrd = Path.Combine(scratch.Path, "initramfs-changed");
        File.Copy(Tiny.Initrd!, changedInitrd);
        await File.AppendAllTextAsync(changedInitrd, "x", ct);

        string baseKey = (await WarmStartKey.ComputeAsync(Plan(Tiny), ct)).Hash;
        Assert.Equal(baseKey, (await WarmStartKey.ComputeAsync(Plan(Tiny), ct)).Hash);
        Assert.Matches("^[0-9a-f]{64}$", baseKey);

        // Same contents elsewhere: same guest, same state.
        Assert.Equal(baseKey, (await WarmStartKey.ComputeAsync(Plan(Tiny with { Kernel = kernelCopy }), ct)).Hash);

        string[] changed =
        [
            (await WarmStartKey.ComputeAsync(Plan(Tiny with { Append = "console=ttyS0 quiet panic=-1 qtk.extra=1" }), ct)).Hash,
            (await WarmStartKey.ComputeAsync(Plan(Tiny with { Kernel = changedKernel }), ct)).Hash,
            (await WarmStartKey.ComputeAsync(Plan(Tiny with { Initrd = changedInitrd }), ct)).Hash,
            (await WarmStartKey.ComputeAsync(Plan(Tiny with { Memory = "192M" }), ct)).Hash,
            (await WarmStartKey.ComputeAsync(Plan(Tiny with { Args = ["-device", "virtio-rng-pci"] }), ct)).Hash,
        ];
        Assert.All(changed, key => Assert.NotEqual(baseKey, key));
        Assert.Equal(changed.Length, changed.Distinct().Count());
    }

    [Fact(Timeout = 60_000)]
    public async Task Key_inputs_name_the_qemu_version_and_file_hashes_but_no_per_vm_paths()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        WarmStartKey key = await WarmStartKey.ComputeAsync(Plan(Tiny), ct);
        string inputs = key.Inputs.ToJsonString();

        Assert.StartsWith("QEMU emulator version", key.QemuVersion, StringComparison.Ordinal);
        Assert.Contains("<kernel>", key.Inputs["arguments"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.DoesNotContain(TestPrerequisites.GuestDirectory, inputs, StringComparison.Ordinal);
        Assert.DoesNotContain(".sock", inputs, StringComparison.Ordinal);
        Assert.Matches("\"kernel\":\"[0-9a-f]{64}\"", inputs);
    }

    [Fact]
    public void Warm_start_is_on_for_tiny_and_off_where_it_cannot_work_or_is_turned_off()
    {
        Assert.True(Tiny.WarmStart);
        Assert.Null(WarmStartCache.DisabledReason(Tiny, enabled: null, switchValue: null));
        Assert.Null(WarmStartCache.DisabledReason(Tiny, enabled: null, switchValue: "1"));

        Assert.Contains("warmStart: false", WarmStartCache.DisabledReason(Tiny with { WarmStart = false }, null, null), StringComparison.Ordinal);
        Assert.Contains("QEMUTESTKIT_WARMSTART=0", WarmStartCache.DisabledReason(Tiny, null, "0"), StringComparison.Ordinal);
        Assert.Contains("QEMUTESTKIT_WARMSTART=off", WarmStartCache.DisabledReason(Tiny, null, "off"), StringComparison.Ordinal);
        Assert.NotNull(WarmStartCache.DisabledReason(Tiny, enabled: false, switchValue: null));
        Assert.Contains("no console prompt", WarmStartCache.DisabledReason(Tiny with { Prompt = null }, null, null), StringComparison.Ordinal);

        QemuProfile none = BuiltInProfiles.TryCreate(BuiltInProfiles.None, AppContext.BaseDirectory)!;
        Assert.False(none.WarmStart);
        Assert.Contains("no guest", WarmStartCache.DisabledReason(none, enabled: true, switchValue: null), StringComparison.Ordinal);

        // The caller's explicit choice wins over the profile and the switch.
        Assert.Null(WarmStartCache.DisabledReason(Tiny with { WarmStart = false }, enabled: true, switchValue: "0"));
    }

    [Fact]
    public void Default_cache_folder_is_under_the_user_cache()
    {
        string dir = WarmStartCache.DefaultDirectory;
        if (Environment.GetEnvironmentVariable(WarmStartCache.DirectoryVariable) is not { Length: > 0 })
        {
            Assert.EndsWith(Path.Combine("qemutestkit", "warmstart"), dir, StringComparison.Ordinal);
        }

        Assert.True(Path.IsPathRooted(dir));
    }

    [Fact(Timeout = 60_000)]
    public async Task Continue_after_a_save_waits_out_qemus_finish_migrate_moment()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task resume = WarmStartMigration.ContinueAsync(client, TestContext.Current.CancellationToken);

            // QEMU 7.2 right after MIGRATION "completed": the run state is still finish-migrate.
            JsonElement early = await server.ReceiveAsync();
            Assert.Equal("cont", early.GetProperty("execute").GetString());
            await server.ReplyErrorAsync(early, "GenericError", "Migration is not finalized yet");
            Task<JsonElement> retry = server.ReceiveAsync();
            Assert.Same(retry, await Task.WhenAny(retry, resume));
            JsonElement again = await retry;
            Assert.Equal("cont", again.GetProperty("execute").GetString());
            await server.ReplyAsync(again, "{}");

            await resume;
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Continue_does_not_retry_other_refusals()
    {
        (QmpClient client, FakeQmpServer server) = await FakeQmpServer.ConnectAsync();
        await using (client)
        await using (server)
        {
            Task resume = WarmStartMigration.ContinueAsync(client, TestContext.Current.CancellationToken);
            JsonElement request = await server.ReceiveAsync();
            await server.ReplyErrorAsync(request, "GenericError", "Resetting the Virtual Machine is required");

            QmpCommandException ex = await Assert.ThrowsAsync<QmpCommandException>(() => resume);
            Assert.Contains("Resetting", ex.Description, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Exec_uri_paths_are_quoted_for_the_shell()
    {
        Assert.Equal("'/tmp/a b/state'", WarmStartMigration.ShellQuote("/tmp/a b/state"));
        Assert.Equal("'/tmp/it'\\''s; rm -rf x'", WarmStartMigration.ShellQuote("/tmp/it's; rm -rf x"));
    }
}
