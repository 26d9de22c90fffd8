using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.EndToEnd;

/// <summary>Packing QemuTestKit.Guests refuses, with a code and what to run, when it could not ship a true guest.</summary>
public sealed class GuestPackageTests
{
    private static readonly string GuestsProject = Path.Combine(PackedPackages.FindRepoRoot(), "src", "QemuTestKit.Guests", "QemuTestKit.Guests.csproj");

    [Fact(Timeout = 900_000)]
    public async Task Packing_without_a_built_guest_fails_naming_the_missing_architectures_and_the_build_script()
    {
        using var temp = new TempDirectory();
        temp.WriteText("out/x86_64/guest.json", """{ "arch": "x86_64" }""");   // aarch64 missing, x86_64 without its kernel

        DotnetCli.Result pack = await PackAsync(temp, TestContext.Current.CancellationToken);

        Assert.True(pack.ExitCode != 0, pack.ToString());
        Assert.Contains("error QTK090", pack.Output, StringComparison.Ordinal);
        Assert.Contains("not built for x86_64, aarch64", pack.Output, StringComparison.Ordinal);
        Assert.Contains("bash build/guest/build.sh", pack.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.nupkg", SearchOption.AllDirectories));
    }

    [Fact(Timeout = 900_000)]
    public async Task Packing_a_guest_whose_guest_json_does_not_name_its_source_packages_fails()
    {
        using var temp = new TempDirectory();
        foreach (string arch in new[] { "x86_64", "aarch64" })
        {
            temp.WriteText($"out/{arch}/guest.json", $$"""{ "arch": "{{arch}}", "kernelPackage": "linux-image-x", "busyboxPackage": "busybox-static" }""");
            temp.WriteText($"out/{arch}/vmlinuz", "kernel");
            temp.WriteText($"out/{arch}/initramfs.cpio.gz", "initrd");
            temp.WriteText($"out/{arch}/initramfs-agent.cpio.gz", "initrd with the agent");
        }

        DotnetCli.Result pack = await PackAsync(temp, TestContext.Current.CancellationToken);

        Assert.True(pack.ExitCode != 0, pack.ToString());
        Assert.Contains("error QTK091", pack.Output, StringComparison.Ordinal);
        Assert.Contains("kernelSourcePackage", pack.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.nupkg", SearchOption.AllDirectories));
    }

    [Fact(Timeout = 900_000)]
    public async Task Packing_a_guest_without_its_agent_initramfs_fails_naming_the_file()
    {
        // A guest built before the agent got its own initramfs: the tiny-agent profiles of such a package could not boot.
        using var temp = new TempDirectory();
        foreach (string arch in new[] { "x86_64", "aarch64" })
        {
            temp.WriteText($"out/{arch}/guest.json", $$"""{ "arch": "{{arch}}" }""");
            temp.WriteText($"out/{arch}/vmlinuz", "kernel");
            temp.WriteText($"out/{arch}/initramfs.cpio.gz", "initrd");
        }

        temp.WriteText("out/aarch64/initramfs-agent.cpio.gz", "initrd with the agent");

        DotnetCli.Result pack = await PackAsync(temp, TestContext.Current.CancellationToken);

        Assert.True(pack.ExitCode != 0, pack.ToString());
        Assert.Contains("error QTK090", pack.Output, StringComparison.Ordinal);
        Assert.Contains("not built for x86_64 (", pack.Output, StringComparison.Ordinal);
        Assert.Contains("initramfs-agent.cpio.gz", pack.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.nupkg", SearchOption.AllDirectories));
    }

    private static Task<DotnetCli.Result> PackAsync(TempDirectory temp, CancellationToken cancellationToken) =>
        DotnetCli.RunAsync(
            temp.Path,
            ["pack", GuestsProject, "-c", "Release", "-nodeReuse:false", "-o", temp["feed"],
             $"-p:QemuGuestsSourceDir={temp["out"]}/", $"-p:ArtifactsPath={temp["artifacts"]}/"],
            PackedPackages.CommandTimeout,
            cancellationToken: cancellationToken);
}
