namespace QemuTestKit.Tests.Machine;

/// <summary>A fresh folder for one test, removed at the end.</summary>
internal sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory(string? name = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), name ?? "qtk-test-" + Guid.NewGuid().ToString("N")[..8]);
        if (name is not null)
        {
            Path += "-" + Guid.NewGuid().ToString("N")[..6];
        }

        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
