using System.Diagnostics;
using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>
/// <c>QEMUTESTKIT_KEEP=failed</c> with a profile whose runner is <c>container</c>, on the real Docker engine
/// (<c>source build/docker/start-dockerd.sh</c>): the VM is not kept, the failed test's output says why and what works
/// instead, and no container, kept folder or QEMU is left behind.
/// </summary>
public sealed class KeepInContainerScenarioTests(ScenarioProject scenarios) : IDisposable
{
    // Short (socket paths are limited to 107 bytes) and private to this test class.
    private readonly string _keptRoot = Directory.CreateTempSubdirectory("qtkkeepc-").FullName;

    [Fact(Timeout = 900_000)]
    public async Task A_failed_class_in_a_container_is_not_kept_says_why_and_leaves_no_container_or_folder()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        HashSet<string> before = await KitContainersAsync(ct);
        var env = new Dictionary<string, string?> { ["QEMUTESTKIT_KEEP"] = "failed", ["QEMUTESTKIT_KEPT_DIR"] = _keptRoot };

        // RunAsync checks that no QEMU process of the run is left on this host.
        ScenarioResult result = await scenarios.RunAsync(["KeepRefusedInContainer"], env, ct);

        Assert.True(result.ExitCode == 2, result.ToString());

        // The VM really ran, in a container (QEMU is no process of this host's).
        string line = Assert.Single(result.Log, l => l.StartsWith("KeepRefusedInContainer ", StringComparison.Ordinal));
        Assert.Contains("answer=in-container pid=none ", line, StringComparison.Ordinal);

        // The failed test's output says it is not kept, why, and what keeps a VM instead.
        Assert.Contains("QemuTestKit: QEMUTESTKIT_KEEP=failed: this VM is not kept, because it runs in a container (profile 'tiny-container' has \"runner\": \"container\")", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"runner\": \"local\"", result.Output, StringComparison.Ordinal);
        Assert.Contains("Its console log, QEMU's log and the QMP transcript are in ", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("this VM will be kept", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("could not keep the VM", result.Output, StringComparison.Ordinal);

        // Nothing half kept: no container of the run, no kept folder.
        HashSet<string> after = await KitContainersAsync(ct);
        after.ExceptWith(before);
        Assert.True(after.Count == 0, "containers left by the run: " + string.Join(", ", after));
        Assert.Empty(Directory.GetFileSystemEntries(_keptRoot));
        Assert.Empty(KeptVms.List(_keptRoot));
    }

    public void Dispose() => Directory.Delete(_keptRoot, recursive: true);

    /// <summary>
    /// The kit's containers on the engine (running or not) whose owner process has ended, by the docker CLI and the labels
    /// every one carries. Other test assemblies run beside this one on the same engine (CI runs them in parallel); their
    /// containers belong to live test hosts, while the scenario's test host has exited when this is asked.
    /// </summary>
    private static async Task<HashSet<string>> KitContainersAsync(CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["ps", "-a", "--no-trunc", "--filter", "label=qemutestkit", "--format", "{{.ID}} {{.Label \"qemutestkit.owner\"}}"])
        {
            psi.ArgumentList.Add(argument);
        }

        using Process docker = Process.Start(psi) ?? throw new InvalidOperationException("docker did not start");
        Task<string> output = docker.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = docker.StandardError.ReadToEndAsync(cancellationToken);
        await docker.WaitForExitAsync(cancellationToken);
        Assert.True(
            docker.ExitCode == 0,
            $"docker ps failed ({docker.ExitCode}): {await error}; run `source build/docker/start-dockerd.sh` from the repository root first (it starts the loopback-only engine and builds the QEMU image).");
        return [.. (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2))
            .Where(fields => !OwnerIsAlive(fields.Length > 1 ? fields[1] : ""))
            .Select(fields => fields[0])];
    }

    /// <summary>Whether the owner label (<c>&lt;host id&gt;/&lt;pid&gt;/&lt;start ticks&gt;</c>) names a process still running on this host.</summary>
    private static bool OwnerIsAlive(string owner)
    {
        string[] parts = owner.Split('/');
        return parts.Length == 3 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out int pid) && Directory.Exists($"/proc/{pid}");
    }
}
