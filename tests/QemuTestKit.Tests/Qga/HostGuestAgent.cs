using System.Diagnostics;
using System.Net.Sockets;
using QemuTestKit.Qga;

namespace QemuTestKit.Tests.Qga;

/// <summary>
/// Debian's real qemu-ga, run on the host as a process listening on a unix socket in a private temp folder: the
/// agent's real protocol without booting a guest. Commands that would change the host (shutdown, suspend, freeze,
/// clock, users, CPUs) are blocked. Dispose kills it by PID, checks it is gone and removes the folder.
/// </summary>
internal sealed class HostGuestAgent : IAsyncDisposable
{
    private const string InstallHint = "install it with 'apt-get install -y qemu-guest-agent' (build/install-prerequisites.sh should)";

    private static readonly string[] Blocked =
    [
        "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid", "guest-set-time",
        "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw", "guest-fstrim", "guest-set-vcpus",
        "guest-set-user-password", "guest-set-memory-blocks", "guest-ssh-add-authorized-keys", "guest-ssh-remove-authorized-keys",
    ];

    private readonly Process _process;

    private HostGuestAgent(Process process, string folder)
    {
        _process = process;
        Folder = folder;
    }

    /// <summary>The agent's private folder (its socket, state and log); test files go here too.</summary>
    public string Folder { get; }

    public string SocketPath => Path.Combine(Folder, "qga.sock");

    public int Pid => _process.Id;

    public string Log => File.Exists(Path.Combine(Folder, "qga.log")) ? File.ReadAllText(Path.Combine(Folder, "qga.log")) : "";

    public static HostGuestAgent Start()
    {
        string binary = Find();
        string folder = Directory.CreateTempSubdirectory("qtk-qga-").FullName;
        var start = new ProcessStartInfo(binary)
        {
            ArgumentList =
            {
                "-m", "unix-listen", "-p", Path.Combine(folder, "qga.sock"), "-t", folder, "-f", Path.Combine(folder, "qga.pid"),
                "-l", Path.Combine(folder, "qga.log"), "-b", string.Join(',', Blocked),
            },
            UseShellExecute = false,
        };
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"'{binary}' did not start.");
        return new HostGuestAgent(process, folder);
    }

    /// <summary>Connects once the agent listens (it creates the socket right after it starts).</summary>
    public async Task<QgaClient> ConnectAsync(QgaClientOptions? options = null)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await QgaClient.ConnectAsync(SocketPath, options, TestContext.Current.CancellationToken);
            }
            catch (SocketException) when (DateTime.UtcNow < until && !_process.HasExited)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"qemu-ga (pid {Pid}, exited: {_process.HasExited}) does not listen on {SocketPath}. Its log:\n{Log}", ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        int pid = _process.Id;
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await _process.WaitForExitAsync(bound.Token);
        }

        _process.Dispose();
        Directory.Delete(Folder, recursive: true);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"qemu-ga pid {pid} is still there");
        Assert.False(Directory.Exists(Folder), $"'{Folder}' was left behind");
    }

    private static string Find()
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin"]);
        return dirs.Select(d => Path.Combine(d, "qemu-ga")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"qemu-ga was not found on PATH or in /usr/sbin; {InstallHint}.");
    }
}
