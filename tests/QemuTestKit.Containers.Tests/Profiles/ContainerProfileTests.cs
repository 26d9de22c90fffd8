using QemuTestKit.Containers.Tests.Infrastructure;
using QemuTestKit.Containers.Tests.Machine;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Profiles;

/// <summary>A profile that says <c>"runner": "container"</c> gets a machine in a container, as the xunit fixture builds it.</summary>
[Trait("Runner", "Container")]
public sealed class ContainerProfileTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_container_profile_boots_in_a_container_and_answers_on_its_console()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var profile = new QemuProfile("tiny-in-a-container")
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
}
