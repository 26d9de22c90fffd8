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

    [Fact]
    public void A_wrong_DOCKER_CERT_PATH_says_which_files_are_missing_and_what_to_set()
    {
        using var scratch = new LaunchScratch();
        var environment = new Dictionary<string, string?> { ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = scratch.Directory };

        var ex = Assert.Throws<QemuLaunchException>(() => DockerEngine.Resolve(new Uri("tcp://127.0.0.1:2376"), name => environment.GetValueOrDefault(name)));

        Assert.Contains(scratch.Directory, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ca.pem, cert.pem, key.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Point DOCKER_CERT_PATH at", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unset DOCKER_TLS_VERIFY", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task TLS_to_an_engine_that_does_not_speak_it_says_to_check_the_TLS_settings()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var scratch = new LaunchScratch();
        // A self-signed certificate stands for ca, client certificate and key: the plain-TCP remote engine refuses the handshake.
        using (var key = System.Security.Cryptography.RSA.Create(2048))
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=qtk-test", key, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(scratch.Directory, "cert.pem"), cert.ExportCertificatePem(), ct);
            await File.WriteAllTextAsync(Path.Combine(scratch.Directory, "ca.pem"), cert.ExportCertificatePem(), ct);
            await File.WriteAllTextAsync(Path.Combine(scratch.Directory, "key.pem"), key.ExportRSAPrivateKeyPem(), ct);
        }

        var environment = new Dictionary<string, string?> { ["DOCKER_TLS_VERIFY"] = "1", ["DOCKER_CERT_PATH"] = scratch.Directory };
        DockerEngine engine = DockerEngine.Resolve(DockerTestEnvironment.RemoteEndpoint, name => environment.GetValueOrDefault(name));

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(() => engine.EnsureReadyAsync(DockerTestEnvironment.Image, mayPull: false, ct));

        Assert.Contains("TLS handshake", ex.Message, StringComparison.Ordinal);
        Assert.Contains(DockerTestEnvironment.RemoteEndpoint.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains("DOCKER_CERT_PATH", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_engine_port_that_refuses_gives_the_endpoint_and_how_to_start_an_engine()
    {
        using var scratch = new LaunchScratch();
        int closed = ClosedLoopbackPort();
        var launcher = new ContainerQemuLauncher(new QemuContainerOptions { DockerEndpoint = new Uri($"tcp://127.0.0.1:{closed}") });

        var ex = await Assert.ThrowsAsync<QemuLaunchException>(
            () => launcher.StartAsync(scratch.GuestSpec("console=ttyS0"), TestContext.Current.CancellationToken));

        Assert.Contains($"tcp://127.0.0.1:{closed}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("DOCKER_HOST", ex.Message, StringComparison.Ordinal);
        Assert.Contains("source build/docker/start-dockerd.sh", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Expired_containers_are_removed_whoever_owns_them_and_exited_supervised_ones_too()
    {
        DockerEngine engine = DockerEngine.Resolve(null);
        using IDockerClient client = engine.CreateClient();
        string otherHost = "elsewhere:00000000/1/1";
        string expired = await CreateAsync(client, otherHost, new() { [ContainerLabels.Expires] = "1" });
        string exited = await CreateAsync(client, otherHost, new() { [ContainerLabels.Supervised] = "1", [ContainerLabels.Expires] = "99999999999" });
        string live = await CreateAsync(client, otherHost, new() { [ContainerLabels.Expires] = "99999999999" });
        try
        {
            // "-version" exits at once: the supervised one is an exited container, as a SIGKILLed owner's becomes.
            await client.Containers.StartContainerAsync(exited, new ContainerStartParameters(), TestContext.Current.CancellationToken);
            await client.Containers.WaitContainerAsync(exited, TestContext.Current.CancellationToken);

            await LeftoverContainers.RemoveAsync(engine, NullLogger.Instance, TestContext.Current.CancellationToken);

            IReadOnlyList<string> left = [.. (await DockerTestEnvironment.ContainersOfThisSessionAsync()).Where(c => !c.EndsWith(" removing", StringComparison.Ordinal))];
            Assert.DoesNotContain(left, c => c.StartsWith(expired[..12], StringComparison.Ordinal));
            Assert.DoesNotContain(left, c => c.StartsWith(exited[..12], StringComparison.Ordinal));
            Assert.Contains(left, c => c.StartsWith(live[..12], StringComparison.Ordinal));
        }
        finally
        {
            foreach (string id in new[] { expired, exited, live })
            {
                await ContainerQemuProcess.RemoveAsync(id, client);
            }
        }
    }

    private static int ClosedLoopbackPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>A PID that existed a moment ago and has exited: a stand-in for a crashed test process.</summary>
    private static async Task<int> DeadPidAsync()
    {
        using Process child = Process.Start("true")!;
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
        return child.Id;
    }

    private static async Task<string> CreateAsync(IDockerClient client, string owner, Dictionary<string, string>? labels = null)
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
            }.Concat(labels ?? []).ToDictionary(),
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, TestContext.Current.CancellationToken);
        return created.ID;
    }
}
