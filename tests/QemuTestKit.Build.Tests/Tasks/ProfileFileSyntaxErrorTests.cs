using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.Tasks;

/// <summary>The build reads the user's qemu-profiles.json first; its syntax errors point where an editor would.</summary>
public sealed class ProfileFileSyntaxErrorTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeBuildEngine _engine = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void QTK020_gives_the_one_based_line_and_column_and_quotes_the_line()
    {
        string path = _temp.WriteText("qemu-profiles.json", "{\n  \"profiles\": {\n    \"a\": { \"memory\": \"1G\" }\n    \"b\": {}\n  }\n}\n");
        var task = new WriteQemuManifest
        {
            BuildEngine = _engine,
            ManifestPath = _temp["out/qemutestkit.manifest.json"],
            QemuArch = "x86_64",
            Profiles = [Items.Of("qemu-profiles.json")],
            ProjectDirectory = _temp.Path,
        };

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK020").Message!;
        Assert.Contains($"QemuProfile file '{path}' is not valid JSON: line 4, column 5:", message, StringComparison.Ordinal);
        Assert.Contains("\n        \"b\": {}\n        ^", message, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", message, StringComparison.Ordinal);
    }
}
