using System.Text;
using System.Text.Json;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.Tasks;

public sealed class StageQemuImagesTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeBuildEngine _engine = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Copies_a_checked_image_and_records_it_in_the_results_file()
    {
        _temp.Write("src/disk.raw", Fixtures.Payload);
        StageQemuImages task = NewTask(Items.Of("src/disk.raw", ("Sha256", Fixtures.PayloadSha256.ToUpperInvariant())));

        Assert.True(task.Execute(), _engine.Log);

        string staged = _temp["out/disk.raw"];
        Assert.Equal(Fixtures.Payload, File.ReadAllBytes(staged));
        ITaskItem item = Assert.Single(task.StagedImages);
        Assert.Equal(staged, item.ItemSpec);
        Assert.Equal("disk.raw", item.GetMetadata("Name"));
        Assert.Equal(Fixtures.PayloadSha256, item.GetMetadata("Sha256"));
        Assert.Equal("raw", item.GetMetadata("Format"));

        using JsonDocument results = JsonDocument.Parse(File.ReadAllText(_temp["obj/images.json"]));
        JsonElement entry = Assert.Single(results.RootElement.EnumerateArray());
        Assert.Equal("disk.raw", entry.GetProperty("name").GetString());
        Assert.Equal(staged, entry.GetProperty("path").GetString());
        Assert.Equal(Fixtures.PayloadSha256, entry.GetProperty("sha256").GetString());
    }

    [Theory]
    [InlineData(".gz")]
    [InlineData(".xz")]
    [InlineData(".bz2")]
    [InlineData(".zst")]
    public void Unpacks_each_compressed_format(string extension)
    {
        byte[] compressed = Fixtures.Compress(extension, Fixtures.Payload);
        _temp.Write("src/payload.txt" + extension, compressed);
        StageQemuImages task = NewTask(Items.Of("src/payload.txt" + extension, ("Sha256", Fixtures.Sha256(compressed))));

        Assert.True(task.Execute(), _engine.Log);

        Assert.Equal(Fixtures.Payload, File.ReadAllBytes(_temp["out/payload.txt"]));
        ITaskItem item = Assert.Single(task.StagedImages);
        Assert.Equal("payload.txt", item.GetMetadata("Name"));
        Assert.Equal(Fixtures.PayloadSha256, item.GetMetadata("Sha256"));
        Assert.False(File.Exists(_temp["out/payload.txt" + extension]));
    }

    [Fact]
    public void Unpack_false_stages_the_compressed_file_as_it_is()
    {
        byte[] compressed = Fixtures.Compress(".gz", Fixtures.Payload);
        _temp.Write("src/initramfs.cpio.gz", compressed);
        StageQemuImages task = NewTask(Items.Of("src/initramfs.cpio.gz", ("Unpack", "false"), ("Name", "initrd")));

        Assert.True(task.Execute(), _engine.Log);

        Assert.Equal(compressed, File.ReadAllBytes(_temp["out/initrd"]));
    }

    [Fact]
    public void QTK011_hash_mismatch_names_the_file_and_both_hashes_and_stages_nothing()
    {
        string source = _temp.Write("src/disk.raw", Fixtures.Payload);
        string wrong = new('0', 64);
        StageQemuImages task = NewTask(Items.Of("src/disk.raw", ("Sha256", wrong)));

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK011").Message!;
        Assert.Contains(source, message, StringComparison.Ordinal);
        Assert.Contains(wrong, message, StringComparison.Ordinal);
        Assert.Contains(Fixtures.PayloadSha256, message, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp["out/disk.raw"]));
    }

    [Fact]
    public void QTK010_when_the_source_is_missing()
    {
        StageQemuImages task = NewTask(Items.Of("src/nothing.qcow2"));

        Assert.False(task.Execute());

        Assert.Contains(_temp["src/nothing.qcow2"], _engine.SingleError("QTK010").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK012_for_a_malformed_hash_and_for_a_remote_image_without_one()
    {
        _temp.Write("src/disk.raw", Fixtures.Payload);
        Assert.False(NewTask(Items.Of("src/disk.raw", ("Sha256", "abc"))).Execute());
        Assert.Contains("abc", _engine.SingleError("QTK012").Message!, StringComparison.Ordinal);

        _engine.Errors.Clear();
        Assert.False(NewTask(Items.Of("http://127.0.0.1:9/disk.raw")).Execute());
        Assert.Contains("Sha256", _engine.SingleError("QTK012").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK014_for_a_corrupt_archive()
    {
        byte[] corrupt = [.. Fixtures.PayloadXz.Take(40), .. Enumerable.Repeat((byte)0x55, 40)];
        _temp.Write("src/disk.raw.xz", corrupt);

        Assert.False(NewTask(Items.Of("src/disk.raw.xz")).Execute());

        string message = _engine.SingleError("QTK014").Message!;
        Assert.Contains("disk.raw.xz", message, StringComparison.Ordinal);
        Assert.Contains("Unpack=\"false\"", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK017_for_two_images_with_the_same_name()
    {
        _temp.Write("a/disk.raw", Fixtures.Payload);
        _temp.Write("b/disk.raw.gz", Fixtures.Compress(".gz", Fixtures.Payload));

        Assert.False(NewTask(Items.Of("a/disk.raw"), Items.Of("b/disk.raw.gz")).Execute());

        Assert.Contains("Name", _engine.SingleError("QTK017").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK018_for_an_unsupported_url_scheme()
    {
        Assert.False(NewTask(Items.Of("ftp://example.invalid/disk.raw", ("Sha256", Fixtures.PayloadSha256))).Execute());

        _engine.SingleError("QTK018");
    }

    [Fact]
    public void Unpacked_result_is_cached_by_hash_and_reused_by_another_output_folder()
    {
        byte[] compressed = Fixtures.Compress(".zst", Fixtures.Payload);
        _temp.Write("src/disk.raw.zst", compressed);
        StageQemuImages first = NewTask(Items.Of("src/disk.raw.zst"));
        Assert.True(first.Execute(), _engine.Log);
        Assert.Equal(1, first.ProducedFiles);

        string entry = Assert.Single(Directory.GetFiles(_temp["cache/staged"], "unpacked-zstd", SearchOption.AllDirectories));
        Assert.Equal(Fixtures.Sha256(compressed), Path.GetFileName(Path.GetDirectoryName(entry)));

        StageQemuImages second = NewTask(Items.Of("src/disk.raw.zst"));
        second.OutputDirectory = _temp["out2"];
        Assert.True(second.Execute(), _engine.Log);

        Assert.Equal(0, second.ProducedFiles);
        Assert.Equal(Fixtures.Payload, File.ReadAllBytes(_temp["out2/disk.raw"]));
        Assert.Contains(_engine.Messages, m => m.Message!.Contains("cache hit", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Http_source_is_downloaded_once_into_the_cache_and_checked()
    {
        await using var server = new TestHttpServer();
        byte[] compressed = Fixtures.Compress(".gz", Fixtures.Payload);
        server.Serve("images/disk.raw.gz", compressed);
        string url = server.Url("images/disk.raw.gz");

        StageQemuImages first = NewTask(Items.Of(url, ("Sha256", Fixtures.Sha256(compressed))));
        Assert.True(await Task.Run(first.Execute, TestContext.Current.CancellationToken), _engine.Log);
        Assert.Equal(Fixtures.Payload, File.ReadAllBytes(_temp["out/disk.raw"]));
        Assert.Equal(1, server.Requests);
        Assert.Equal(compressed, File.ReadAllBytes(_temp[$"cache/downloads/{Fixtures.Sha256(compressed)}"]));

        StageQemuImages second = NewTask(Items.Of(url, ("Sha256", Fixtures.Sha256(compressed))));
        second.OutputDirectory = _temp["out2"];
        Assert.True(await Task.Run(second.Execute, TestContext.Current.CancellationToken), _engine.Log);

        Assert.Equal(1, server.Requests);
        Assert.Equal(0, second.ProducedFiles);
        Assert.Equal(Fixtures.Payload, File.ReadAllBytes(_temp["out2/disk.raw"]));
    }

    [Fact(Timeout = 60_000)]
    public async Task Http_download_with_a_wrong_hash_fails_with_QTK011_and_leaves_nothing_in_the_cache()
    {
        await using var server = new TestHttpServer();
        server.Serve("disk.raw", Fixtures.Payload);
        string wrong = new('a', 64);

        StageQemuImages task = NewTask(Items.Of(server.Url("disk.raw"), ("Sha256", wrong)));
        Assert.False(await Task.Run(task.Execute, TestContext.Current.CancellationToken));

        string message = _engine.SingleError("QTK011").Message!;
        Assert.Contains(server.Url("disk.raw"), message, StringComparison.Ordinal);
        Assert.Contains(wrong, message, StringComparison.Ordinal);
        Assert.Contains(Fixtures.PayloadSha256, message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_temp["cache"], "*", SearchOption.AllDirectories));
    }

    [Fact(Timeout = 60_000)]
    public async Task QTK013_when_the_server_answers_404()
    {
        await using var server = new TestHttpServer();

        StageQemuImages task = NewTask(Items.Of(server.Url("missing.raw"), ("Sha256", Fixtures.PayloadSha256)));
        Assert.False(await Task.Run(task.Execute, TestContext.Current.CancellationToken));

        Assert.Contains("404", _engine.SingleError("QTK013").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void File_url_is_copied_into_the_cache_and_staged()
    {
        string source = _temp.Write("remote/disk.raw.bz2", Fixtures.Compress(".bz2", Fixtures.Payload));
        string sha = Fixtures.Sha256OfFile(source);

        StageQemuImages task = NewTask(Items.Of(new Uri(source).AbsoluteUri, ("Sha256", sha), ("Name", "disk.img")));

        Assert.True(task.Execute(), _engine.Log);
        Assert.True(File.Exists(_temp[$"cache/downloads/{sha}"]));
        Assert.Equal(Fixtures.Payload, File.ReadAllBytes(_temp["out/disk.img"]));
    }

    [Fact]
    public void Format_converts_with_qemu_img_and_the_result_is_cached()
    {
        _temp.Write("src/data.img.xz", Fixtures.PayloadXz);
        StageQemuImages task = NewTask(Items.Of("src/data.img.xz", ("Format", "qcow2")));

        Assert.True(task.Execute(), _engine.Log);

        string staged = _temp["out/data.qcow2"];
        byte[] header = File.ReadAllBytes(staged)[..4];
        Assert.Equal("QFI\xfb", Encoding.Latin1.GetString(header));
        ITaskItem item = Assert.Single(task.StagedImages);
        Assert.Equal("qcow2", item.GetMetadata("Format"));
        Assert.Equal(Fixtures.Sha256OfFile(staged), item.GetMetadata("Sha256"));
        Assert.Equal(2, task.ProducedFiles); // unpacked + converted (one cache entry)
        Assert.Single(Directory.GetFiles(_temp["cache/staged"], "unpacked-xz.qcow2", SearchOption.AllDirectories));
    }

    [Fact]
    public void QTK015_when_qemu_img_is_needed_but_not_found()
    {
        _temp.Write("src/disk.raw", Fixtures.Payload);
        StageQemuImages task = NewTask(Items.Of("src/disk.raw", ("Format", "qcow2")));
        task.QemuImgBinary = _temp["no/qemu-img"];

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK015").Message!;
        Assert.Contains("QemuImgBinary", message, StringComparison.Ordinal);
        Assert.Contains("qemu-utils", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK016_when_qemu_img_fails_shows_its_command_and_output()
    {
        _temp.Write("src/disk.raw", Fixtures.Payload);
        StageQemuImages task = NewTask(Items.Of("src/disk.raw", ("Format", "no-such-format")));

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK016").Message!;
        Assert.Contains("convert -O no-such-format", message, StringComparison.Ordinal);
        Assert.Contains("no-such-format", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_above_the_progress_threshold_report_progress_and_smaller_ones_stay_quiet()
    {
        _temp.Write("src/disk.raw", Fixtures.Payload);
        StageQemuImages quiet = NewTask(Items.Of("src/disk.raw"));
        Assert.True(quiet.Execute(), _engine.Log);
        Assert.DoesNotContain(_engine.Messages, m => m.Importance == MessageImportance.High);

        StageQemuImages loud = NewTask(Items.Of("src/disk.raw"));
        loud.ProgressThresholdBytes = 1000;
        Assert.True(loud.Execute(), _engine.Log);

        BuildMessageEventArgs progress = Assert.Single(_engine.Messages, m => m.Importance == MessageImportance.High);
        Assert.Equal("QemuTestKit: checking disk.raw: 100% (3200 bytes of 3200 bytes)", progress.Message);
    }

    private StageQemuImages NewTask(params ITaskItem[] images) => new()
    {
        BuildEngine = _engine,
        Images = images,
        ProjectDirectory = _temp.Path,
        OutputDirectory = _temp["out"],
        CacheDirectory = _temp["cache"],
        ResultsFile = _temp["obj/images.json"],
    };
}
