using System.Reflection;
using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Containers.Tests.Machine;
using QemuTestKit.Sdk;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Profiles;

/// <summary>A profile that says <c>"runner": "container"</c> gets a machine in a container, as the xunit fixture builds it.</summary>
[Trait("Runner", "Container")]
public sealed class ContainerProfileTests
{
    private static QemuProfile Profile => new("tiny-in-a-container")
    {
        Runner = QemuRunner.Container,
        ContainerImage = DockerTestEnvironment.Image,
        Memory = "256",
        Kernel = TestPrerequisites.Kernel,
        Initrd = TestPrerequisites.Initrd,
        // no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can panic the boot.
        Append = "console=ttyS0 quiet panic=-1 no_timer_check",
        Console = new QemuProfileConsole(),
        ReadyPattern = TestPrerequisites.ReadyMarker,
        FailurePatterns = ["Kernel panic"],
        Prompt = TestPrerequisites.Prompt,
    };

    [Fact(Timeout = 180_000)]
    public async Task A_container_profile_boots_in_a_container_and_answers_on_its_console()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = Profile;
        var leaks = new ContainerLeakCheck(endpoint: null);

        await using QemuMachine machine = QemuProfileMachine.Create(profile, containerLauncher: ContainerLauncherFactory.Instance);
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        QemuProfileMachine.ConfigureConsole(profile, machine.Console);
        await machine.Console.WaitForAsync(TestPrerequisites.ReadyMarker, profile.FailurePatterns, profile.BootTimeout, ct);
        await machine.Console.WaitForAsync(TestPrerequisites.Prompt, null, profile.BootTimeout, ct);

        Assert.Equal("qemu-system-x86_64", machine.Binary);
        Assert.Null(machine.Pid);
        Assert.Contains("tcg", machine.CommandLine);
        Assert.Equal("42", await machine.Console.RunAsync("echo $((6*7))", profile.BootTimeout, ct));
        Assert.Single(await DockerTestEnvironment.ContainersOfThisSessionAsync(machine: machine.Name));

        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact(Timeout = 400_000)]
    public async Task The_tiny_aarch64_profile_boots_on_the_remote_engine_with_the_image_s_aarch64_emulator()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = (BuiltInProfiles.TryCreate(BuiltInProfiles.TinyAarch64, AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("tiny-aarch64 is not a built-in profile")) with
        {
            Runner = QemuRunner.Container,
            ContainerImage = DockerTestEnvironment.Image,
            // An emulated aarch64 in a container on a loaded box: generous.
            BootTimeout = TimeSpan.FromMinutes(5),
        };
        var leaks = new ContainerLeakCheck(DockerTestEnvironment.RemoteEndpoint);
        var factory = new RemoteFactory();

        await using QemuMachine machine = QemuProfileMachine.Create(profile, containerLauncher: factory);
        await machine.LaunchAsync(ct);
        leaks.Record(machine);
        QemuProfileMachine.ConfigureConsole(profile, machine.Console);
        await machine.Console.WaitForAsync(profile.ReadyPattern!, profile.FailurePatterns, profile.BootTimeout, ct);

        Assert.Equal("aarch64", (await machine.Console.RunAsync("uname -m", profile.BootTimeout, ct)).Trim());

        await machine.ShutdownAsync(timeout: TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    /// <summary>The container launcher on the remote-engine stand-in.</summary>
    private sealed class RemoteFactory : IQemuLauncherFactory
    {
        public IQemuLauncher Create(QemuLaunchPlan plan, Microsoft.Extensions.Logging.ILogger? logger) =>
            new ContainerQemuLauncher(DockerTestEnvironment.RemoteOptions with { Image = plan.Profile.ContainerImage ?? DockerTestEnvironment.Image, Logger = logger });
    }

    [Fact(Timeout = 180_000)]
    public async Task On_a_host_with_kvm_and_no_qemu_of_its_own_a_container_profile_boots_with_tcg()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int asked = 0;
        var host = new QemuHost(
            _ => throw new FileNotFoundException($"no local QEMU (asked {++asked} times)"),
            (_, _) => ++asked > 0,
            () => null);
        var leaks = new ContainerLeakCheck(endpoint: null);

        QemuBootResult boot = await QemuBoot.StartAsync(
            Profile,
            new QemuBootOptions
            {
                Host = host,
                ContainerLauncher = typeof(ContainerProfileTests).Assembly.GetCustomAttribute<QemuContainerLauncherAttribute>()?.Factory,
            },
            ct);
        await using QemuMachine machine = boot.Machine;
        leaks.Record(machine);

        Assert.Equal(0, asked);
        Assert.Equal(QemuAccelerator.Tcg, boot.Plan.Accelerator);
        Assert.Equal("qemu-system-x86_64", machine.Binary);
        Assert.Null(machine.Pid);
        Assert.Equal("tcg", machine.CommandLine[machine.CommandLine.ToList().IndexOf("-accel") + 1]);
        Assert.Equal("42", await machine.Console.RunAsync("echo $((6*7))", Profile.BootTimeout, ct));

        await machine.ShutdownAsync(cancellationToken: ct);
        Assert.Equal(0, machine.ExitCode);
        await leaks.AssertNothingLeftAsync();
    }

    [Fact]
    public void The_assembly_attribute_names_the_container_launcher_factory()
    {
        Assert.Same(
            ContainerLauncherFactory.Instance,
            typeof(ContainerProfileTests).Assembly.GetCustomAttribute<QemuContainerLauncherAttribute>()?.Factory);
    }
}
