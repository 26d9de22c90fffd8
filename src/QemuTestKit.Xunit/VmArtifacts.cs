namespace QemuTestKit.Xunit;

/// <summary>
/// The class's artifacts folder: the console log (written live by the console), QEMU's own output and the QMP
/// transcript, plus a summary. Failed tests get the same three attached.
/// </summary>
internal sealed class VmArtifacts(string directory)
{
    public const string ConsoleLog = "console.log";
    public const string MachineName = "qemu";
    public const string QemuLog = MachineName + ".log";
    public const string QmpTranscript = "qmp-transcript.txt";
    public const string Summary = "summary.txt";

    public string Directory { get; } = directory;

    public string ConsoleLogPath => Path.Combine(Directory, ConsoleLog);

    public void Reset()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        System.IO.Directory.CreateDirectory(Directory);
    }

    public void Write(string name, string? text) => File.WriteAllText(Path.Combine(Directory, name), text ?? "");

    public string Read(string name)
    {
        string path = Path.Combine(Directory, name);
        try
        {
            // The console log is still being written; share the file so the read never fails because of it.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }
}
