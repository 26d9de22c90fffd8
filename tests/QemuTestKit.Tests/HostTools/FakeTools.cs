namespace QemuTestKit.Tests.HostTools;

/// <summary>Shell scripts that stand in for host tools, in a folder removed with the test, and the PIDs they record.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class FakeTools : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("qtk-tools-").FullName;

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>An executable <c>#!/bin/sh</c> script with <paramref name="body"/>.</summary>
    public string Script(string name, string body, bool executable = true)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        File.SetUnixFileMode(path, executable ? mode | UnixFileMode.UserExecute : mode);
        return path;
    }

    /// <summary>
    /// A tool that never exits: it writes its PID and its child's (a <c>sleep</c>) to <paramref name="pidFile"/>, then
    /// waits. A runner that kills only the script would leave the child running.
    /// </summary>
    public string Hanging(string name, string pidFile) =>
        Script(name, $"sleep 100000 &\necho $$ $! > '{pidFile}.tmp'\nmv '{pidFile}.tmp' '{pidFile}'\nwait");

    /// <summary>The PIDs a <see cref="Hanging"/> tool recorded.</summary>
    public static IReadOnlyList<int> ReadPids(string pidFile) =>
        File.ReadAllText(pidFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToList();

    /// <summary>Whether <paramref name="pid"/> still exists, zombie or not; waits up to 5 s for the kernel to remove it.</summary>
    public static async Task<bool> StillThereAsync(int pid)
    {
        for (int i = 0; i < 100 && System.IO.Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(50);
        }

        return System.IO.Directory.Exists($"/proc/{pid}");
    }
}
