using System.Reflection;
using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Containers.Tests.Machine;
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
