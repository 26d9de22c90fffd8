using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using QemuTestKit.Sdk;
using QemuTestKit.Tests.Infrastructure;
using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Launch;

/// <summary>
/// The public boot without xunit: the plan decided once and read by everything after it, warm start around the boot,
/// and the container runner planned without asking this host for QEMU or KVM.
/// </summary>
public sealed class QemuBootTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new("qtk-boot");
    private readonly BootedMachines _machines = new();

    private static QemuProfile Tiny => BuiltInProfiles.CreateTiny(TestPrerequisites.GuestDirectory);

    [Fact(Timeout = 300_000)]
    public async Task Binary_and_accelerator_are_decided_once_per_boot_and_warm_start_uses_that_decision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // A binary no search would find: whatever runs it, or keys the state by it, got it from the plan.
        string binary = Path.Combine(_scratch.Path, "bin", "qemu-system-x86_64");
        Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
        File.CreateSymbolicLink(binary, TestPrerequisites.QemuBinary);
        var options = new QemuBootOptions { WarmStart = new WarmStartOptions { CacheDirectory = Path.Combine(_scratch.Path, "cache"), Enabled = true } };

        var firstHost = new RecordingHost(binary);
        QemuBootResult saved = await StartAsync(Tiny, options with { Host = firstHost.Host }, ct);
        var secondHost = new RecordingHost(binary);
        QemuBootResult restored = await StartAsync(Tiny, options with { Host = secondHost.Host }, ct);

        Assert.Equal(WarmStartMode.Saved, saved.StartMode);
        Assert.Equal(WarmStartMode.Restored, restored.StartMode);
        foreach (RecordingHost host in new[] { firstHost, secondHost })
        {
            Assert.Equal(1, host.BinaryLookups);
            Assert.Equal(1, host.KvmProbes);
        }

        foreach (QemuBootResult boot in new[] { saved, restored })
        {
            Assert.Equal(binary, boot.Plan.Binary);
            Assert.Equal(QemuAccelerator.Tcg, boot.Plan.Accelerator);
            Assert.Equal(binary, boot.Machine.Binary);
            Assert.Equal(boot.Plan.Arguments, boot.Machine.Args.Take(boot.Plan.Arguments.Count));
        }

        JsonNode metadata = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(saved.Start.StateDirectory!, "metadata.json"), ct))!;
        Assert.Equal(binary, metadata["inputs"]!["binary"]!.GetValue<string>());
        Assert.Equal("answered", (await restored.Machine.Console.RunAsync("echo answered", cancellationToken: ct)).Trim());

        await _machines.ShutdownAllAsync(ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_container_profile_on_a_host_with_kvm_and_no_local_qemu_boots_with_tcg()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // This host: /dev/kvm usable, no QEMU of its own. The "container" runs QEMU as a local process that finds
        // qemu-system-x86_64 on PATH, as the image would: the test needs no Docker, only the decision is under test.
        var host = new RecordingHost(binary: null, kvmUsable: true);
        var factory = new LocalStandInFactory();
        QemuProfile profile = Tiny with { Runner = QemuRunner.Container, WarmStart = false };

        QemuBootResult boot = await StartAsync(profile, new QemuBootOptions { Host = host.Host, ContainerLauncher = factory }, ct);

        Assert.Equal(0, host.BinaryLookups);
        Assert.Equal(0, host.KvmProbes);
        Assert.Equal(QemuRunner.Container, boot.Plan.Runner);
        Assert.Equal("qemu-system-x86_64", boot.Plan.Binary);
        Assert.Equal(QemuAccelerator.Tcg, boot.Plan.Accelerator);
        Assert.Same(boot.Plan, factory.Plan);
        int accel = boot.Machine.CommandLine.ToList().IndexOf("-accel");
        Assert.Equal("tcg", boot.Machine.CommandLine[accel + 1]);
        Assert.Equal([TestPrerequisites.Kernel, TestPrerequisites.Initrd], boot.Machine.LaunchSpec!.HostFiles);
        Assert.Equal("42", await boot.Machine.Console.RunAsync("echo $((6*7))", cancellationToken: ct));

        await _machines.ShutdownAllAsync(ct);
    }

    [Fact]
    public async Task A_container_profile_without_a_launcher_factory_says_which_package_to_add()
    {
        var host = new RecordingHost(binary: null);

        QemuProfileException ex = await Assert.ThrowsAsync<QemuProfileException>(
            () => QemuBoot.StartAsync(Tiny with { Runner = QemuRunner.Container }, new QemuBootOptions { Host = host.Host }, TestContext.Current.CancellationToken));

        Assert.Equal("runner", ex.Field);
        Assert.Contains("QemuTestKit.Containers", ex.Message, StringComparison.Ordinal);
        Assert.Contains("QemuBootOptions.ContainerLauncher", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enum_text_has_one_parser_that_names_the_bad_value_and_the_allowed_ones()
    {
        Assert.Equal(QemuRunner.Container, ProfileEnum.Parse<QemuRunner>("container", "field 'runner'"));
        Assert.Equal(QemuAccelerator.Kvm, ProfileEnum.Parse<QemuAccelerator>("kvm", "QEMUTESTKIT_ACCEL"));
        Assert.Equal(["auto", "kvm", "tcg", "hvf", "whpx"], ProfileEnum.Names<QemuAccelerator>());

        FormatException ex = Assert.Throws<FormatException>(() => ProfileEnum.Parse<QemuRunner>("docker", "field 'runner'"));
        Assert.Equal("field 'runner' is \"docker\"; allowed: \"local\", \"container\".", ex.Message);
        Assert.False(ProfileEnum.TryParse("KVM", out QemuAccelerator _));
    }

    [Fact]
    public void The_run_wide_accelerator_override_applies_to_auto_only()
    {
        var forced = new QemuHost(_ => "/usr/bin/qemu-system-x86_64", (_, _) => throw new InvalidOperationException("not probed when forced"), () => "tcg");

        Assert.Equal(QemuAccelerator.Tcg, QemuLaunchPlan.Resolve(new QemuProfile("p"), forced).Accelerator);
        Assert.Equal(QemuAccelerator.Kvm, QemuLaunchPlan.Resolve(new QemuProfile("p") { Accel = QemuAccelerator.Kvm }, forced).Accelerator);
    }

    public void Dispose()
    {
        _machines.Dispose();
        _scratch.Dispose();
    }

    private async Task<QemuBootResult> StartAsync(QemuProfile profile, QemuBootOptions options, CancellationToken ct)
    {
        QemuBootResult boot = await QemuBoot.StartAsync(profile, options, ct);
        _machines.Record(boot.Machine);
        return boot;
    }

    /// <summary>Host facts that count how often they are asked; no binary means this host has no QEMU.</summary>
    private sealed class RecordingHost
    {
        public RecordingHost(string? binary, bool kvmUsable = false)
        {
            Host = new QemuHost(
                profile =>
                {
                    BinaryLookups++;
                    return binary ?? throw new FileNotFoundException($"no QEMU on this host (profile '{profile.Name}')");
                },
                (_, _) =>
                {
                    KvmProbes++;
                    return kvmUsable;
                },
                () => null);
        }

        public QemuHost Host { get; }

        public int BinaryLookups { get; private set; }

        public int KvmProbes { get; private set; }
    }

    /// <summary>A container launcher factory whose "container" is a local process.</summary>
    private sealed class LocalStandInFactory : IQemuLauncherFactory
    {
        public QemuLaunchPlan? Plan { get; private set; }

        public IQemuLauncher Create(QemuLaunchPlan plan, ILogger? logger)
        {
            Plan = plan;
            return new ProcessQemuLauncher(logger);
        }
    }
}
