using System.Text.Json;
using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.EndToEnd;

/// <summary>
/// A test project the way a user writes one: a PackageReference to QemuTestKit.Xunit from the packed feed, the tiny
/// guest's kernel and initramfs as QemuImage items with their SHA-256 from guest.json, an xz image converted to
/// qcow2, and a QemuProfile that boots the guest.
/// </summary>
internal sealed class ConsumerProject
{
    private readonly PackedPackages _packages;

    public ConsumerProject(PackedPackages packages, string name)
    {
        _packages = packages;
        Directory = Path.Combine(packages.Root, name);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "guest"));

        string guest = GuestDirectory(packages.RepoRoot);
        using JsonDocument guestJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(guest, "guest.json")));
        KernelSha256 = guestJson.RootElement.GetProperty("kernelSha256").GetString()!;
        InitrdSha256 = guestJson.RootElement.GetProperty("initrdSha256").GetString()!;
        File.Copy(Path.Combine(guest, "vmlinuz"), Path.Combine(Directory, "guest", "vmlinuz"));
        File.Copy(Path.Combine(guest, "initramfs.cpio.gz"), Path.Combine(Directory, "guest", "initramfs.cpio.gz"));
        File.WriteAllBytes(Path.Combine(Directory, "data.img.xz"), Fixtures.PayloadXz);

        File.WriteAllText(Path.Combine(Directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <!-- Adds the packed feed; the machine's own sources (the user-level config) still apply. -->
              <packageSources>
                <add key="qemutestkit-e2e" value="{packages.Feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(Directory, "global.json"), """{ "test": { "runner": "Microsoft.Testing.Platform" } }""");
        File.WriteAllText(Path.Combine(Directory, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RestorePackagesPath>{packages.PackagesFolder}</RestorePackagesPath>
                <QemuImageCacheDir>{Path.Combine(packages.Root, "image-cache")}</QemuImageCacheDir>
                <KernelSha256 Condition="'$(KernelSha256)' == ''">{KernelSha256}</KernelSha256>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="QemuTestKit.Xunit" Version="{packages.Version}" />
                <PackageReference Include="xunit.v3" Version="4.0.2" />
              </ItemGroup>
              <ItemGroup>
                <QemuImage Include="guest/vmlinuz" Sha256="$(KernelSha256)" />
                <QemuImage Include="guest/initramfs.cpio.gz" Sha256="{InitrdSha256}" Unpack="false" />
                <QemuImage Include="data.img.xz" Format="qcow2" />
                <!-- tcg: this machine has a /dev/kvm that opens but cannot run guests; TCG works everywhere. -->
                <QemuProfile Include="guest" Accel="tcg" Kernel="vmlinuz" Initrd="initramfs.cpio.gz" Append="console=ttyS0 quiet panic=-1 no_timer_check"
                             Memory="256M" Drives="data.qcow2" ReadyPattern="QEMUTESTKIT-READY" Prompt="qtk# " BootTimeoutSeconds="120" />
              </ItemGroup>
              <ItemGroup Condition="'$(WithVmTest)' != 'true'">
                <Compile Remove="VmTests.cs" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(Directory, "PlainTests.cs"), """
            public class PlainTests
            {
                [Xunit.Fact]
                public void Manifest_is_next_to_the_assembly() =>
                    Xunit.Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "qemutestkit.manifest.json")));
            }
            """);
        File.WriteAllText(Path.Combine(Directory, "VmTests.cs"), """
            using QemuTestKit.Xunit;

            [QemuMachine("guest")]
            public class VmTests(QemuVm vm)
            {
                [Xunit.Fact(Timeout = 300_000)]
                public async Task Guest_boots_from_the_staged_images_and_its_shell_answers()
                {
                    // ExecAsync frames the output with markers: right even when the shell's banner and first prompt
                    // are still arriving after the ready marker (RunAsync expects the shell to be at its prompt already).
                    var result = await vm.Console.ExecAsync("uname -s", cancellationToken: Xunit.TestContext.Current.CancellationToken);
                    Xunit.Assert.Equal(0, result.ExitCode);
                    Xunit.Assert.Equal("Linux", result.Output.Trim());
                }
            }
            """);
    }

    public string Directory { get; }

    public string KernelSha256 { get; }

    public string InitrdSha256 { get; }

    public string OutputDirectory => Path.Combine(Directory, "bin", "Debug", "net10.0");

    public string ManifestPath => Path.Combine(OutputDirectory, "qemutestkit.manifest.json");

    public Task<DotnetCli.Result> BuildAsync(CancellationToken cancellationToken, params string[] extra) =>
        DotnetCli.RunAsync(Directory, ["build", "-nodeReuse:false", "-p:UseSharedCompilation=false", .. extra], PackedPackages.CommandTimeout, cancellationToken: cancellationToken);

    public Task<DotnetCli.Result> TestAsync(CancellationToken cancellationToken, params string[] extra) =>
        DotnetCli.RunAsync(Directory, ["test", "-p:UseSharedCompilation=false", .. extra], PackedPackages.CommandTimeout, cancellationToken: cancellationToken);

    public JsonDocument ReadManifest() => JsonDocument.Parse(File.ReadAllText(ManifestPath));

    private static string GuestDirectory(string repoRoot)
    {
        // build/guest/build.sh writes one folder per architecture; this consumer boots the x86_64 guest.
        string root = Environment.GetEnvironmentVariable("QTK_GUEST_DIR") is { Length: > 0 } fromEnv ? fromEnv : Path.Combine(repoRoot, "build", "guest", "out");
        string dir = Path.Combine(root, "x86_64");
        return File.Exists(Path.Combine(dir, "guest.json"))
            ? dir
            : throw new InvalidOperationException($"The tiny test guest is not built in {dir}; run 'bash build/guest/build.sh x86_64' from the repository root.");
    }
}
