using System.Text.Json;
using QemuTestKit.Build.Tests.Infrastructure;
using QemuTestKit.Internal;

namespace QemuTestKit.Build.Tests.Tasks;

public sealed class WriteQemuManifestTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeBuildEngine _engine = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Writes_qemu_images_and_item_profiles_with_paths_relative_to_the_manifest()
    {
        string images = Stage(("vmlinuz", null), ("disk.qcow2", "qcow2"));
        _temp.WriteText("files/initrd.img", "initrd");
        _temp.WriteText("extra/scratch.raw", "disk");
        WriteQemuManifest task = NewTask(images,
            Items.Of("guest",
                ("Kernel", "vmlinuz"), ("Initrd", "files/initrd.img"), ("Append", "console=ttyS0 quiet"), ("Memory", "256M"),
                ("Smp", "2"), ("Drives", "disk.qcow2;extra/scratch.raw"), ("Args", "-device;virtio-rng-pci"),
                ("Prompt", "qtk# "), ("ReadyPattern", "QEMUTESTKIT-READY"), ("FailurePatterns", "Kernel panic;Oops"),
                ("BootTimeoutSeconds", "120"), ("WarmStart", "true"), ("ConsoleIndex", "0")));

        Assert.True(task.Execute(), _engine.Log);

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(_temp["out/qemutestkit.manifest.json"]));
        JsonElement root = manifest.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        Assert.Equal("/usr/bin/qemu-system-x86_64", root.GetProperty("qemu").GetProperty("binary").GetString());
        Assert.Equal("7.2.22", root.GetProperty("qemu").GetProperty("version").GetString());
        Assert.Equal("x86_64", root.GetProperty("qemu").GetProperty("arch").GetString());

        JsonElement disk = root.GetProperty("images").GetProperty("disk.qcow2");
        Assert.Equal("qemu-images/disk.qcow2", disk.GetProperty("path").GetString());
        Assert.Equal("qcow2", disk.GetProperty("format").GetString());
        Assert.Equal(64, disk.GetProperty("sha256").GetString()!.Length);
        Assert.False(root.GetProperty("images").GetProperty("vmlinuz").TryGetProperty("format", out _));

        JsonElement guest = root.GetProperty("profiles").GetProperty("guest");
        Assert.Equal("qemu-images/vmlinuz", guest.GetProperty("kernel").GetString());
        Assert.Equal(_temp["files/initrd.img"], guest.GetProperty("initrd").GetString());
        Assert.Equal("qtk# ", guest.GetProperty("prompt").GetString());
        Assert.Equal(2, guest.GetProperty("smp").GetInt32());
        Assert.Equal(120, guest.GetProperty("bootTimeoutSeconds").GetInt32());
        Assert.True(guest.GetProperty("warmStart").GetBoolean());
        Assert.Equal(["-device", "virtio-rng-pci"], guest.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["Kernel panic", "Oops"], guest.GetProperty("failurePatterns").EnumerateArray().Select(a => a.GetString()));
        JsonElement[] drives = [.. guest.GetProperty("drives").EnumerateArray()];
        Assert.Equal("disk.qcow2", drives[0].GetProperty("image").GetString());
        Assert.Equal(_temp["extra/scratch.raw"], drives[1].GetProperty("path").GetString());
        Assert.Equal(0, guest.GetProperty("console").GetProperty("index").GetInt32());
        Assert.True(task.Written);
    }

    [Fact]
    public void Profile_file_paths_resolve_against_the_file_and_image_names_against_the_staged_images()
    {
        string images = Stage(("vmlinuz", null));
        _temp.WriteText("profiles/boot/initrd", "initrd");
        _temp.WriteText("profiles/disks/d.raw", "disk");
        string absolute = _temp.WriteText("abs/vmlinuz", "kernel");
        _temp.WriteText("profiles/qemu-profiles.json", """
            {
              // comments and trailing commas are fine
              "profiles": {
                "a": { "kernel": "vmlinuz", "initrd": "boot/initrd", "drives": [ { "path": "disks/d.raw", "format": "raw" } ], },
                "b": { "machine": "q35", "kernel": "ABSOLUTE" }
              }
            }
            """.Replace("ABSOLUTE", absolute, StringComparison.Ordinal));

        Assert.True(NewTask(images, Items.Of("profiles/qemu-profiles.json")).Execute(), _engine.Log);

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(_temp["out/qemutestkit.manifest.json"]));
        JsonElement profiles = manifest.RootElement.GetProperty("profiles");
        JsonElement a = profiles.GetProperty("a");
        Assert.Equal("qemu-images/vmlinuz", a.GetProperty("kernel").GetString());
        Assert.Equal(_temp["profiles/boot/initrd"], a.GetProperty("initrd").GetString());
        Assert.Equal(_temp["profiles/disks/d.raw"], a.GetProperty("drives")[0].GetProperty("path").GetString());
        Assert.Equal("raw", a.GetProperty("drives")[0].GetProperty("format").GetString());
        Assert.Equal(absolute, profiles.GetProperty("b").GetProperty("kernel").GetString());
    }

    [Fact]
    public void An_unchanged_manifest_is_not_rewritten()
    {
        string images = Stage(("vmlinuz", null));
        Assert.True(NewTask(images, Items.Of("p", ("Kernel", "vmlinuz"))).Execute(), _engine.Log);
        string path = _temp["out/qemutestkit.manifest.json"];
        File.SetLastWriteTimeUtc(path, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        WriteQemuManifest again = NewTask(images, Items.Of("p", ("Kernel", "vmlinuz")));
        Assert.True(again.Execute(), _engine.Log);

        Assert.False(again.Written);
        Assert.Equal(2020, File.GetLastWriteTimeUtc(path).Year);
    }

    [Fact]
    public void Without_a_resolved_binary_the_manifest_still_has_images_and_arch()
    {
        string images = Stage(("vmlinuz", null));
        WriteQemuManifest task = NewTask(images);
        task.QemuBinary = "";
        task.QemuVersion = "";

        Assert.True(task.Execute(), _engine.Log);

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(_temp["out/qemutestkit.manifest.json"]));
        JsonElement qemu = manifest.RootElement.GetProperty("qemu");
        Assert.False(qemu.TryGetProperty("binary", out _));
        Assert.Equal("x86_64", qemu.GetProperty("arch").GetString());
        Assert.True(manifest.RootElement.GetProperty("images").TryGetProperty("vmlinuz", out _));
    }

    [Fact]
    public void QTK020_for_a_missing_or_malformed_profile_file()
    {
        Assert.False(NewTask(null, Items.Of("missing.json")).Execute());
        Assert.Contains("missing.json", _engine.SingleError("QTK020").Message!, StringComparison.Ordinal);

        _engine.Errors.Clear();
        _temp.WriteText("bad.json", "{ \"profiles\": [ ");
        Assert.False(NewTask(null, Items.Of("bad.json")).Execute());
        Assert.Contains("not valid JSON", _engine.SingleError("QTK020").Message!, StringComparison.Ordinal);

        _engine.Errors.Clear();
        _temp.WriteText("flat.json", "{ \"tiny\": {} }");
        Assert.False(NewTask(null, Items.Of("flat.json")).Execute());
        Assert.Contains("\"profiles\"", _engine.SingleError("QTK020").Message!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Smp", "two")]
    [InlineData("WarmStart", "yes")]
    [InlineData("ConsoleIndex", "-1")]
    [InlineData("BootTimout", "10")]
    public void QTK021_for_invalid_profile_metadata_names_the_metadata(string metadata, string value)
    {
        Assert.False(NewTask(null, Items.Of("p", (metadata, value))).Execute());

        string message = _engine.SingleError("QTK021").Message!;
        Assert.Contains($"{metadata}=\"{value}\"", message, StringComparison.Ordinal);
        Assert.Contains("QemuProfile 'p'", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK021_for_a_drive_that_names_no_staged_image()
    {
        _temp.WriteText("p.json", """{ "profiles": { "q": { "drives": [ { "image": "nosuchimage" } ] } } }""");

        Assert.False(NewTask(null, Items.Of("p.json")).Execute());

        Assert.Contains("'nosuchimage'", _engine.SingleError("QTK021").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK022_for_a_profile_defined_twice()
    {
        _temp.WriteText("p.json", """{ "profiles": { "tiny": { "memory": "128M" } } }""");

        Assert.False(NewTask(null, Items.Of("p.json"), Items.Of("tiny", ("Memory", "256M"))).Execute());

        string message = _engine.SingleError("QTK022").Message!;
        Assert.Contains("tiny", message, StringComparison.Ordinal);
        Assert.Contains("p.json", message, StringComparison.Ordinal);
    }

    /// <summary>Stages empty files through the real task and returns its results file.</summary>
    private string Stage(params (string Name, string? Format)[] images)
    {
        var task = new StageQemuImages
        {
            BuildEngine = _engine,
            ProjectDirectory = _temp.Path,
            OutputDirectory = _temp["out/qemu-images"],
            CacheDirectory = _temp["cache"],
            ResultsFile = _temp["obj/images.json"],
            Images = [.. images.Select(i => Items.Of(_temp.WriteText("src/" + i.Name, i.Name), i.Format is null ? [] : [("Format", i.Format)]))],
        };
        Assert.True(task.Execute(), _engine.Log);
        return task.ResultsFile;
    }

    private WriteQemuManifest NewTask(string? imagesFile, params Microsoft.Build.Framework.ITaskItem[] profiles) => new()
    {
        BuildEngine = _engine,
        ManifestPath = _temp["out/qemutestkit.manifest.json"],
        QemuBinary = "/usr/bin/qemu-system-x86_64",
        QemuVersion = "7.2.22",
        QemuArch = "x86_64",
        ImagesFile = imagesFile,
        Profiles = profiles,
        ProjectDirectory = _temp.Path,
    };
}
