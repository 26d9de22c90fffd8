using System.IO.Compression;
using System.Text.Json;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.Tasks;

/// <summary>Mistakes in QemuImage and QemuProfile items and in qemu-profiles.json fail the build, named where they were made.</summary>
public sealed class BuildTimeChecksTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeBuildEngine _engine = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void QTK024_for_unknown_image_metadata_so_a_misspelt_Sha256_never_turns_the_check_off()
    {
        string image = _temp.WriteText("disk.raw", "disk");

        Assert.False(Plan(Items.Of(image, ("Sha", new string('a', 64)))).Execute());

        string message = _engine.SingleError("QTK024").Message!;
        Assert.Contains("Sha=", message, StringComparison.Ordinal);
        Assert.Contains("Sha256", message, StringComparison.Ordinal);
        Assert.Contains("Unpack", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK012_for_a_download_without_Sha256()
    {
        Assert.False(Plan(Items.Of("https://example.invalid/disk.qcow2")).Execute());

        Assert.Contains("Sha256", _engine.SingleError("QTK012").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK023_for_a_kernel_that_is_neither_staged_nor_a_file_names_the_profile_field_and_staged_images()
    {
        string images = Stage(("vmlinuz", "kernel"));

        Assert.False(Manifest(images, Items.Of("guest", ("Kernel", "vmlinux"))).Execute());

        string message = _engine.SingleError("QTK023").Message!;
        Assert.Contains("'guest'", message, StringComparison.Ordinal);
        Assert.Contains("kernel", message, StringComparison.Ordinal);
        Assert.Contains("Staged images: vmlinuz", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK023_when_staging_renamed_the_file_says_the_staged_name()
    {
        // initrd.img.gz is unpacked and staged as initrd.img: the profile must name that.
        string gz = _temp["src/initrd.img.gz"];
        Directory.CreateDirectory(Path.GetDirectoryName(gz)!);
        using (var gzip = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
        {
            gzip.Write("initrd"u8);
        }

        string images = StageItems(Items.Of(gz));

        Assert.False(Manifest(images, Items.Of("guest", ("Kernel", "src/initrd.img.gz"), ("Initrd", "initrd.img.gz"))).Execute());

        string message = _engine.SingleError("QTK023").Message!;
        Assert.Contains("initrd '", message, StringComparison.Ordinal);
        Assert.Contains("staged as 'initrd.img'", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK023_for_a_drive_path_that_does_not_exist()
    {
        Assert.False(Manifest(null, Items.Of("guest", ("Drives", "missing.qcow2|interface=nvme"))).Execute());

        string message = _engine.SingleError("QTK023").Message!;
        Assert.Contains("drives[0]", message, StringComparison.Ordinal);
        Assert.Contains("missing.qcow2", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK020_for_a_misspelt_field_in_qemu_profiles_json_names_the_file_line_column_and_field()
    {
        string path = _temp.WriteText("qemu-profiles.json", """
            {
              "profiles": {
                "guest": {
                  "machine": "pc",
                  "memroy": "256M"
                }
              }
            }
            """);

        Assert.False(Manifest(null, Items.Of("qemu-profiles.json")).Execute());

        BuildErrorEventArgs error = _engine.SingleError("QTK020");
        Assert.Equal(path, error.File);
        Assert.Equal(5, error.LineNumber);
        Assert.Equal(7, error.ColumnNumber);
        Assert.Contains("'memroy'", error.Message!, StringComparison.Ordinal);
        Assert.Contains("memory", error.Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK020_for_a_wrong_type_inside_a_drive_points_at_that_value()
    {
        _temp.WriteText("disk.raw", "disk");
        _temp.WriteText("qemu-profiles.json", """
            { "profiles": { "guest": {
                "drives": [
                  "disk.raw",
                  { "path": "disk.raw", "readOnly": "yes" }
                ] } } }
            """);

        Assert.False(Manifest(null, Items.Of("qemu-profiles.json")).Execute());

        BuildErrorEventArgs error = _engine.SingleError("QTK020");
        Assert.Equal(4, error.LineNumber);
        Assert.Equal(29, error.ColumnNumber);
        Assert.Contains("drives[1].readOnly", error.Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void Drive_network_and_display_metadata_reach_the_manifest()
    {
        string images = Stage(("data.qcow2", "data"));
        _temp.WriteText("seed.raw", "seed");

        Assert.True(Manifest(images, Items.Of("guest",
            ("Drives", "data.qcow2|interface=nvme|id=data|readOnly=true; seed.raw|interface=scsi|snapshot=true|cache=unsafe"),
            ("Network", "user"), ("NetworkModel", "e1000"), ("Display", "virtio-gpu"))).Execute(), _engine.Log);

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(_temp["out/qemutestkit.manifest.json"]));
        JsonElement guest = manifest.RootElement.GetProperty("profiles").GetProperty("guest");
        JsonElement[] drives = [.. guest.GetProperty("drives").EnumerateArray()];
        Assert.Equal("data.qcow2", drives[0].GetProperty("image").GetString());
        Assert.Equal("nvme", drives[0].GetProperty("interface").GetString());
        Assert.Equal("data", drives[0].GetProperty("id").GetString());
        Assert.True(drives[0].GetProperty("readOnly").GetBoolean());
        Assert.Equal(_temp["seed.raw"], drives[1].GetProperty("path").GetString());
        Assert.Equal("scsi", drives[1].GetProperty("interface").GetString());
        Assert.True(drives[1].GetProperty("snapshot").GetBoolean());
        Assert.Equal("unsafe", drives[1].GetProperty("cache").GetString());
        Assert.Equal("e1000", guest.GetProperty("network").GetProperty("model").GetString());
        Assert.Equal("virtio-gpu", guest.GetProperty("display").GetString());
    }

    [Theory]
    [InlineData("Drives", "seed.raw|bus=ide", "'bus=ide' is not a drive option")]
    [InlineData("Drives", "seed.raw|interface=floppy", "\"floppy\"")]
    [InlineData("Display", "cirrus", "must be one of \"none\", \"vga\", \"virtio-gpu\"")]
    [InlineData("Network", "tap", "must be one of \"user\", \"none\"")]
    public void QTK021_for_invalid_drive_network_or_display_metadata(string metadata, string value, string expected)
    {
        _temp.WriteText("seed.raw", "seed");

        Assert.False(Manifest(null, Items.Of("guest", (metadata, value))).Execute());

        Assert.Contains(expected, _engine.SingleError("QTK021").Message!, StringComparison.Ordinal);
    }

    private PlanQemuImages Plan(params ITaskItem[] images) => new()
    {
        BuildEngine = _engine,
        ProjectDirectory = _temp.Path,
        OutputDirectory = _temp["out/qemu-images"],
        Images = images,
    };

    private string Stage(params (string Name, string Content)[] images) =>
        StageItems([.. images.Select(i => Items.Of(_temp.WriteText("src/" + i.Name, i.Content)))]);

    private string StageItems(params ITaskItem[] images)
    {
        var task = new StageQemuImages
        {
            BuildEngine = _engine,
            ProjectDirectory = _temp.Path,
            OutputDirectory = _temp["out/qemu-images"],
            CacheDirectory = _temp["cache"],
            ResultsFile = _temp["obj/images.json"],
            Images = images,
        };
        Assert.True(task.Execute(), _engine.Log);
        return task.ResultsFile;
    }

    private WriteQemuManifest Manifest(string? imagesFile, params ITaskItem[] profiles) => new()
    {
        BuildEngine = _engine,
        ManifestPath = _temp["out/qemutestkit.manifest.json"],
        QemuArch = "x86_64",
        ImagesFile = imagesFile,
        Profiles = profiles,
        ProjectDirectory = _temp.Path,
    };
}
