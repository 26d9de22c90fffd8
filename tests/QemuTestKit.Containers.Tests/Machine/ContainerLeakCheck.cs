using QemuTestKit.Containers.Tests.Infrastructure;

namespace QemuTestKit.Containers.Tests.Machine;

/// <summary>
/// What a machine in a container may leave behind, checked after shutdown: its container, its temp and socket folders,
/// and any QEMU process on this host whose command line names its temp folder (QEMU in a local container is a process
/// of this host; it sees the same paths).
/// </summary>
internal sealed class ContainerLeakCheck(Uri? endpoint)
{
    private readonly List<(string Machine, string TempDir, string SockDir)> _machines = [];

    public void Record(QemuMachine machine) => _machines.Add((machine.Name, machine.TempDir, machine.SockDir));

    public async Task AssertNothingLeftAsync()
    {
        foreach ((string machine, string tempDir, string sockDir) in _machines)
        {
            await DockerTestEnvironment.AssertNoContainersLeftAsync(endpoint, machine);
            Assert.False(Directory.Exists(tempDir), $"'{tempDir}' was left behind");
            Assert.False(Directory.Exists(sockDir), $"'{sockDir}' was left behind");
            Assert.Empty(QemuProcessesNaming(tempDir));
        }
    }

    private static List<string> QemuProcessesNaming(string path)
    {
        var found = new List<string>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains("qemu-system", StringComparison.Ordinal) && cmdline.Contains(path, StringComparison.Ordinal))
                {
                    found.Add($"{Path.GetFileName(dir)}: {cmdline}");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
