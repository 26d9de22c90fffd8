using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging.Abstractions;
using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Docker;

/// <summary>What the launcher says and does around the engine: no engine, no image, leftovers of crashed runs.</summary>
[Trait("Runner", "Container")]
public sealed class DockerEngineTests
{
    [Fact(Timeout = 60_000)]
    public async Task Without_an_engine_the_launch_fails_with_how_to_start_one()
    {
        using var scratch = new LaunchScratch();
        string socket = Path.Combine(scratch.Directory, "no-docker.sock");
        var launcher = new ContainerQemuLauncher(new QemuContainerOptions { DockerEndpoint = new Uri("unix://" + socket) });

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(
            () => launcher.StartAsync(scratch.GuestSpec("console=ttyS0"), TestContext.Current.CancellationToken));

        Assert.Contains(socket, ex.Message, StringComparison.Ordinal);
        Assert.Contains("source build/docker/start-dockerd.sh", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DOCKER_HOST", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DOCKER_API_VERSION=1.41", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_missing_image_is_not_pulled_and_the_error_says_how_to_build_it()
    {
        using var scratch = new LaunchScratch();
        var launcher = new ContainerQemuLauncher(new QemuContainerOptions { Image = "qemutestkit/no-such-image:never" });
        int before = (await DockerTestEnvironment.ContainersOfThisSessionAsync(machine: scratch.Name)).Count;

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(
            () => launcher.StartAsync(scratch.GuestSpec("console=ttyS0"), TestContext.Current.CancellationToken));

        Assert.Contains("qemutestkit/no-such-image:never", ex.Message, StringComparison.Ordinal);
        Assert.Contains("build/docker/build-qemu-image.sh", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PullImage", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, before);
        await DockerTestEnvironment.AssertNoContainersLeftAsync(machine: scratch.Name);
    }

    [Fact(Timeout = 60_000)]
    public async Task Leftovers_of_dead_test_processes_on_this_host_are_removed_and_others_kept()
    {
        DockerEngine engine = DockerEngine.Resolve(null);
        using IDockerClient client = engine.CreateClient();
        int deadPid = await DeadPidAsync();
        string dead = await CreateAsync(client, OwnerProcess.Format(deadPid));
        string recycled = await CreateAsync(client, $"{OwnerProcess.HostId}/1/0");      // PID 1 lives, but started at another time
        string alive = await CreateAsync(client, OwnerProcess.Format(1));
        string otherHost = await CreateAsync(client, $"elsewhere:00000000/{deadPid}/1");
        try
        {
            // A launcher's first start in this process may run the same clean-up concurrently: judge the outcome, not the count.
            await LeftoverContainers.RemoveAsync(engine, NullLogger.Instance, TestContext.Current.CancellationToken);

            // A container the concurrent clean-up is still removing counts as removed.
            IReadOnlyList<string> left = [.. (await DockerTestEnvironment.ContainersOfThisSessionAsync()).Where(c => !c.EndsWith(" removing", StringComparison.Ordinal))];
            Assert.DoesNotContain(left, c => c.StartsWith(dead[..12], StringComparison.Ordinal));
            Assert.DoesNotContain(left, c => c.StartsWith(recycled[..12], StringComparison.Ordinal));
            Assert.Contains(left, c => c.StartsWith(alive[..12], StringComparison.Ordinal));
            Assert.Contains(left, c => c.StartsWith(otherHost[..12], StringComparison.Ordinal));
        }
        finally
        {
            foreach (string id in new[] { dead, recycled, alive, otherHost })
            {
                try
                {
                    await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, TestContext.Current.CancellationToken);
                }
                catch (DockerContainerNotFoundException)
                {
                }
                catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
                {
                }
            }
        }

        string[] ids = [dead[..12], recycled[..12], alive[..12], otherHost[..12]];
        Assert.DoesNotContain(await DockerTestEnvironment.ContainersOfThisSessionAsync(), c => ids.Any(id => c.StartsWith(id, StringComparison.Ordinal)) && !c.EndsWith(" removing", StringComparison.Ordinal));
    }

    /// <summary>A PID that existed a moment ago and has exited: a stand-in for a crashed test process.</summary>
    private static async Task<int> DeadPidAsync()
    {
        using Process child = Process.Start("true")!;
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
        return child.Id;
    }

    private static async Task<string> CreateAsync(IDockerClient client, string owner)
    {
        CreateContainerResponse created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEnvironment.Image,
            Cmd = ["-version"],
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Kit] = ContainerLabels.SchemaVersion,
                [ContainerLabels.Session] = OwnerProcess.SessionId,
                [ContainerLabels.Owner] = owner,
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, TestContext.Current.CancellationToken);
        return created.ID;
    }
}
