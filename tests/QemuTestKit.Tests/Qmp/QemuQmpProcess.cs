using System.Diagnostics;
using System.Text;
using QemuTestKit.Qmp;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Qmp;

/// <summary>
/// A bare <c>qemu-system-x86_64 -machine none</c> whose QMP monitor connects to a <see cref="QmpListener"/> we opened
/// first. Disposing kills QEMU if it still runs and asserts nothing is left: no process, no socket, no temp dir.
/// </summary>
internal sealed class QemuQmpProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();

    private QemuQmpProcess(string tempDir, QmpListener listener, Process process)
    {
        TempDir = tempDir;
        Listener = listener;
        Process = process;
    }

    public string TempDir { get; }

    public string SocketPath => Path.Combine(TempDir, "qmp.sock");

    public QmpListener Listener { get; }

    public Process Process { get; }

    public QmpClient? Client { get; private set; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Listens, starts QEMU pointed at the socket and accepts its QMP connection.</summary>
    public static async Task<QemuQmpProcess> StartAsync(QmpClientOptions? options = null)
    {
        string tempDir = Directory.CreateTempSubdirectory("qtk-qmp-").FullName;
        QmpListener listener = QmpListener.ListenUnix(Path.Combine(tempDir, "qmp.sock"));
        var process = new Process
        {
            StartInfo = BareQemu("-chardev", $"socket,id=mon,path={listener.Address}", "-mon", "chardev=mon,mode=control"),
        };
        var qemu = new QemuQmpProcess(tempDir, listener, process);
        process.OutputDataReceived += (_, e) => qemu.Append(e.Data);
        process.ErrorDataReceived += (_, e) => qemu.Append(e.Data);
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(60));
            qemu.Client = await listener.AcceptAsync(options, cts.Token);
            return qemu;
        }
        catch
        {
            await qemu.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>qemu-system-x86_64 -machine none -nodefaults -display none</c> plus <paramref name="extra"/>, output redirected.</summary>
    public static ProcessStartInfo BareQemu(params string[] extra)
    {
        var psi = new ProcessStartInfo(TestPrerequisites.QemuBinary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["-machine", "none", "-nodefaults", "-display", "none", .. extra])
        {
            psi.ArgumentList.Add(arg);
        }

        return psi;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Client is not null)
            {
                await Client.DisposeAsync();
            }

            await Listener.DisposeAsync();
            if (!Process.HasExited)
            {
                Process.Kill();
            }

            await Process.WaitForExitAsync(CancellationToken.None);
            Assert.True(Process.HasExited);
            Assert.False(File.Exists(SocketPath), $"the QMP socket {SocketPath} was left behind");
        }
        finally
        {
            Process.Dispose();
            Directory.Delete(TempDir, recursive: true);
        }

        Assert.False(Directory.Exists(TempDir));
    }
}
