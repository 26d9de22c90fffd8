using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.EndToEnd;

/// <summary>
/// Packs the real packages and builds a consumer project against them with `dotnet build`/`dotnet test`: the tasks
/// load from the package's tools/ folder, with their dependencies, in the SDK's MSBuild. Slow, so few and combined.
/// </summary>
public sealed class ConsumerProjectTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    [Fact(Timeout = 1_800_000)]
    public async Task Packages_build_a_consumer_set_unset_and_wrong_binary_right_and_wrong_hash_and_an_unchanged_rebuild_does_no_work()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.True(packages.PackFailure is null, $"dotnet pack failed: {packages.PackFailure}");
        AssertPackageLayout();
        var consumer = new ConsumerProject(packages, "consumer");
        string qemuOnPath = FindOnPath("qemu-system-x86_64");

        // QemuBinary set: a wrapper script elsewhere, which the build must use rather than the one on PATH.
        string wrapper = Path.Combine(packages.Root, "qemu-wrapper", "qemu-system-x86_64");
        Directory.CreateDirectory(Path.GetDirectoryName(wrapper)!);
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec '{qemuOnPath}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DotnetCli.Result set = await consumer.BuildAsync(ct, $"-p:QemuBinary={wrapper}");
        Assert.True(set.ExitCode == 0, set.ToString());
        using (JsonDocument manifest = consumer.ReadManifest())
        {
            Assert.Equal(wrapper, manifest.RootElement.GetProperty("qemu").GetProperty("binary").GetString());
        }

        // QemuBinary unset: qemu-system-<host arch> from PATH. Images staged with their hashes, the xz one unpacked
        // (SharpCompress loaded next to the task) and converted to qcow2.
        DotnetCli.Result unset = await consumer.BuildAsync(ct);
        Assert.True(unset.ExitCode == 0, unset.ToString());
        AssertManifest(consumer, qemuOnPath);

        // Unchanged: the staging and manifest targets are skipped, nothing in the output is touched.
        string[] outputs = [consumer.ManifestPath, .. Directory.GetFiles(Path.Combine(consumer.OutputDirectory, "qemu-images"))];
        DateTime[] before = [.. outputs.Select(File.GetLastWriteTimeUtc)];
        DotnetCli.Result again = await consumer.BuildAsync(ct, "-v:n");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("Skipping target \"_QemuStageImages\" because all output files are up-to-date", again.Output, StringComparison.Ordinal);
        Assert.Contains("Skipping target \"_QemuWriteManifest\" because all output files are up-to-date", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("QemuTestKit: staged", again.Output, StringComparison.Ordinal);
        Assert.Equal(before, outputs.Select(File.GetLastWriteTimeUtc));

        // QemuBinary wrong: the build fails with the code and the property's name.
        DotnetCli.Result wrong = await consumer.BuildAsync(ct, "-p:QemuBinary=/nonexistent/qemu-system-x86_64");
        Assert.True(wrong.ExitCode != 0, wrong.ToString());
        Assert.Contains("error QTK001", wrong.Output, StringComparison.Ordinal);
        Assert.Contains("QemuBinary", wrong.Output, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/qemu-system-x86_64", wrong.Output, StringComparison.Ordinal);

        // A wrong hash: the build fails, naming the file and both hashes.
        string wrongHash = new('0', 64);
        DotnetCli.Result mismatch = await consumer.BuildAsync(ct, $"-p:KernelSha256={wrongHash}");
        Assert.True(mismatch.ExitCode != 0, mismatch.ToString());
        Assert.Contains("error QTK011", mismatch.Output, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(consumer.Directory, "guest", "vmlinuz"), mismatch.Output, StringComparison.Ordinal);
        Assert.Contains(wrongHash, mismatch.Output, StringComparison.Ordinal);
        Assert.Contains(consumer.KernelSha256, mismatch.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 1_200_000)]
    public async Task Consumer_QemuMachine_test_boots_the_staged_guest_and_passes()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.True(packages.PackFailure is null, $"dotnet pack failed: {packages.PackFailure}");
        var consumer = new ConsumerProject(packages, "consumer-vm");

        DotnetCli.Result test = await consumer.TestAsync(ct, "-p:WithVmTest=true");

        Assert.True(test.ExitCode == 0, test.ToString());
        // A clean [QemuMachine] class builds without a single warning: xunit's analyzers are on in the consumer and the
        // package's suppressor silences only what is wrong for the kit.
        Assert.DoesNotMatch(@"warning [A-Za-z]+[0-9]+", test.Output);
        Assert.Matches(@"succeeded:\s*2", test.Output);
        Assert.Matches(@"failed:\s*0", test.Output);
        AssertNoProcessUses(packages.Root);
    }

    [Fact(Timeout = 1_200_000)]
    public async Task The_READMEs_project_with_only_PackageReferences_boots_tiny_outside_the_repository_with_no_variable_and_no_warning()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.True(packages.PackFailure is null, $"dotnet pack failed: {packages.PackFailure}");
        AssertGuestPackage();
        AssertEveryPackageStandsAlone();
        var consumer = new ConsumerProjectFromReadme(packages, "readme-consumer");
        Assert.False(IsInside(consumer.Directory, packages.RepoRoot), $"{consumer.Directory} must be outside {packages.RepoRoot}");

        DotnetCli.Result test = await consumer.TestAsync(ct);

        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.DoesNotMatch(@"warning [A-Za-z]+[0-9]+", test.Output);
        Assert.Matches(@"succeeded:\s*1", test.Output);
        Assert.Matches(@"failed:\s*0", test.Output);
        // The guests came from the package, copied next to the test assembly: nothing else could have served 'tiny'.
        foreach (string arch in new[] { "x86_64", "aarch64" })
        {
            foreach (string file in new[] { "vmlinuz", "initramfs-agent.cpio.gz" })
            {
                Assert.True(File.Exists(Path.Combine(consumer.OutputDirectory, "qemu-guests", arch, file)), $"no qemu-guests/{arch}/{file} in {consumer.OutputDirectory}");
            }
        }

        AssertNoProcessUses(packages.Root);
    }

    private void AssertGuestPackage()
    {
        using ZipArchive guests = ZipFile.OpenRead(Path.Combine(packages.Feed, $"QemuTestKit.Guests.{packages.Version}.nupkg"));
        string[] entries = [.. guests.Entries.Select(e => e.FullName)];
        foreach (string arch in new[] { "x86_64", "aarch64" })
        {
            foreach (string file in new[] { "vmlinuz", "initramfs.cpio.gz", "initramfs-agent.cpio.gz", "guest.json" })
            {
                Assert.Contains($"guests/{arch}/{file}", entries);
            }
        }

        Assert.Contains("build/QemuTestKit.Guests.targets", entries);
        Assert.Contains("buildTransitive/QemuTestKit.Guests.targets", entries);
        Assert.Contains("README.md", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));

        // The GPL notice names the Debian source packages and versions each guest.json records.
        string notice;
        using (var reader = new StreamReader(guests.GetEntry("THIRD-PARTY-NOTICES.txt")!.Open()))
        {
            notice = reader.ReadToEnd();
        }

        foreach (string arch in new[] { "x86_64", "aarch64" })
        {
            using var reader = new StreamReader(guests.GetEntry($"guests/{arch}/guest.json")!.Open());
            using JsonDocument guestJson = JsonDocument.Parse(reader.ReadToEnd());
            JsonElement root = guestJson.RootElement;
            Assert.Contains($"'{root.GetProperty("kernelSourcePackage").GetString()}' version {root.GetProperty("kernelSourceVersion").GetString()}", notice, StringComparison.Ordinal);
            Assert.Contains($"'{root.GetProperty("busyboxSourcePackage").GetString()}' version {root.GetProperty("busyboxSourceVersion").GetString()}", notice, StringComparison.Ordinal);
            Assert.Contains($"guests/{arch}/vmlinuz", notice, StringComparison.Ordinal);
        }

        Assert.Contains("GPL-2.0-only", notice, StringComparison.Ordinal);
        using Stream nuspec = guests.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        XElement license = XDocument.Load(nuspec).Descendants().Single(e => e.Name.LocalName == "license");
        Assert.Contains("GPL-2.0-only", license.Value, StringComparison.Ordinal);
    }

    /// <summary>A package user sees the package's readme, licence and description, and nothing of this repository.</summary>
    private void AssertEveryPackageStandsAlone()
    {
        foreach (string id in new[] { "QemuTestKit", "QemuTestKit.Xunit", "QemuTestKit.Guests" })
        {
            using ZipArchive package = ZipFile.OpenRead(Path.Combine(packages.Feed, $"{id}.{packages.Version}.nupkg"));
            string readme;
            using (var reader = new StreamReader(package.GetEntry("README.md")?.Open() ?? throw new InvalidOperationException($"{id} has no README.md")))
            {
                readme = reader.ReadToEnd();
            }

            Assert.StartsWith("# " + id, readme, StringComparison.Ordinal);
            Assert.DoesNotContain("project's README", readme, StringComparison.Ordinal);
            using Stream nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
            XElement[] metadata = [.. XDocument.Load(nuspec).Descendants()];
            Assert.Contains(metadata, e => e.Name.LocalName == "license" && e.Attribute("type")?.Value == "expression" && e.Value.Contains("MIT", StringComparison.Ordinal));
            Assert.Contains(metadata, e => e.Name.LocalName == "readme" && e.Value == "README.md");
            Assert.Contains(metadata, e => e.Name.LocalName == "description" && e.Value.Length > 40);
        }
    }

    private static bool IsInside(string path, string folder) =>
        Path.GetFullPath(path).StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private void AssertPackageLayout()
    {
        using ZipArchive kit = ZipFile.OpenRead(Path.Combine(packages.Feed, $"QemuTestKit.{packages.Version}.nupkg"));
        string[] entries = [.. kit.Entries.Select(e => e.FullName)];
        foreach (string expected in new[]
        {
            "lib/net10.0/QemuTestKit.dll", "tools/net10.0/QemuTestKit.Build.dll", "tools/net10.0/SharpCompress.dll",
            "build/QemuTestKit.props", "build/QemuTestKit.targets", "buildTransitive/QemuTestKit.props", "buildTransitive/QemuTestKit.targets", "README.md",
        })
        {
            Assert.Contains(expected, entries);
        }

        Assert.DoesNotContain(entries, e => e.Contains("Microsoft.Build", StringComparison.Ordinal));
        using (Stream kitNuspec = kit.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open())
        {
            // The tasks travel inside the package; QemuTestKit.Build is never a dependency.
            Assert.DoesNotContain(XDocument.Load(kitNuspec).Descendants(), e => e.Name.LocalName == "dependency" && ((string?)e.Attribute("id"))!.StartsWith("QemuTestKit", StringComparison.Ordinal));
        }

        using ZipArchive xunit = ZipFile.OpenRead(Path.Combine(packages.Feed, $"QemuTestKit.Xunit.{packages.Version}.nupkg"));
        string[] xunitEntries = [.. xunit.Entries.Select(e => e.FullName)];
        Assert.Contains("README.md", xunitEntries);
        // The analyzer suppressor rides in the package's analyzers folder, so a consumer's compiler loads it.
        Assert.Contains("analyzers/dotnet/cs/QemuTestKit.Xunit.Analyzers.dll", xunitEntries);
        Assert.DoesNotContain(xunitEntries, e => e.StartsWith("lib/", StringComparison.Ordinal) && e.Contains("Analyzers", StringComparison.Ordinal));
        using Stream nuspec = xunit.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        XElement[] dependencies = [.. XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency")];
        Assert.Contains(dependencies, d => (string?)d.Attribute("id") == "QemuTestKit" && (string?)d.Attribute("version") == packages.Version);
    }

    private static void AssertManifest(ConsumerProject consumer, string qemuOnPath)
    {
        using JsonDocument manifest = consumer.ReadManifest();
        JsonElement root = manifest.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        JsonElement qemu = root.GetProperty("qemu");
        Assert.Equal(qemuOnPath, qemu.GetProperty("binary").GetString());
        Assert.Matches(@"^\d+\.\d+", qemu.GetProperty("version").GetString());
        Assert.Equal("x86_64", qemu.GetProperty("arch").GetString());

        JsonElement images = root.GetProperty("images");
        AssertImage(consumer, images, "vmlinuz", consumer.KernelSha256);
        AssertImage(consumer, images, "initramfs.cpio.gz", consumer.InitrdSha256);
        JsonElement data = images.GetProperty("data.qcow2");
        Assert.Equal("qcow2", data.GetProperty("format").GetString());
        string dataPath = Path.Combine(consumer.OutputDirectory, data.GetProperty("path").GetString()!);
        Assert.Equal(data.GetProperty("sha256").GetString(), Fixtures.Sha256OfFile(dataPath));
        Assert.Equal([(byte)'Q', (byte)'F', (byte)'I', 0xfb], File.ReadAllBytes(dataPath)[..4]);

        JsonElement guest = root.GetProperty("profiles").GetProperty("guest");
        Assert.Equal("qemu-images/vmlinuz", guest.GetProperty("kernel").GetString());
        Assert.Equal("qemu-images/initramfs.cpio.gz", guest.GetProperty("initrd").GetString());
        Assert.Equal("qtk# ", guest.GetProperty("prompt").GetString());
        Assert.Equal("data.qcow2", guest.GetProperty("drives")[0].GetProperty("image").GetString());
    }

    private static void AssertImage(ConsumerProject consumer, JsonElement images, string name, string sha256)
    {
        JsonElement image = images.GetProperty(name);
        Assert.Equal(sha256, image.GetProperty("sha256").GetString());
        Assert.Equal(sha256, Fixtures.Sha256OfFile(Path.Combine(consumer.OutputDirectory, image.GetProperty("path").GetString()!)));
    }

    private static string FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new InvalidOperationException($"{name} was not found on PATH; run 'bash build/install-prerequisites.sh' (or 'apt-get install qemu-system-x86 qemu-utils').");
    }

    /// <summary>No process we started (QEMU, test host, build node) still has the temporary folder on its command line.</summary>
    private static void AssertNoProcessUses(string root)
    {
        var leftovers = new List<string>();
        foreach (string proc in Directory.GetDirectories("/proc"))
        {
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(root, StringComparison.Ordinal))
                {
                    leftovers.Add($"{Path.GetFileName(proc)}: {commandLine}");
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        Assert.True(leftovers.Count == 0, "Processes left running:\n" + string.Join('\n', leftovers));
    }
}
