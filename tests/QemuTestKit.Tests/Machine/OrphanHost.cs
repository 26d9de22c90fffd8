using System.Diagnostics;
using System.Globalization;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Machine;

/// <summary>
/// The orphan host (tests/QemuTestKit.Tests.OrphanHost): a separate .NET process that launches QEMU and waits, for the
/// tests to SIGKILL. Disposing it kills it if it still runs.
/// </summary>
internal sealed class OrphanHost : IDisposable
{
    private readonly Process _host;
    private readonly System.Text.StringBuilder _output = new();

    private OrphanHost(Process host) => _host = host;

    /// <summary>The host's pid.</summary>
    public int Pid => _host.Id;

    /// <summary>The pid the machine reported: QEMU's, or the wrapper's when there is one.</summary>
    public int MachinePid { get; private set; }

    /// <summary>The machine's temp folder.</summary>
    public string TempDir { get; private set; } = "";

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

    /// <summary>Starts the host with a machine under <paramref name="baseTempDir"/> and waits until QEMU runs.</summary>
    public static async Task<OrphanHost> StartAsync(string baseTempDir, string? wrapper, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(Path()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(TestPrerequisites.QemuBinary);
        psi.ArgumentList.Add(baseTempDir);
        if (wrapper is not null)
        {
            psi.ArgumentList.Add(wrapper);
        }

        // A .NET process creates its debugger pipes and diagnostic socket in /tmp and removes them only on a clean exit;
        // this one is SIGKILLed on purpose, so it must not create them, or every run would leave them behind.
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new OrphanHost(new Process { StartInfo = psi });
        host._host.OutputDataReceived += (_, e) =>
        {
            host.Append(e.Data);
            if (e.Data?.StartsWith("TEMP-DIR ", StringComparison.Ordinal) == true)
            {
                host.TempDir = e.Data["TEMP-DIR ".Length..];
            }

            if (e.Data?.StartsWith("QEMU-PID ", StringComparison.Ordinal) == true)
            {
                started.TrySetResult(int.Parse(e.Data["QEMU-PID ".Length..], CultureInfo.InvariantCulture));
            }
        };
        host._host.ErrorDataReceived += (_, e) => host.Append(e.Data);
        host._host.Start();
        host._host.BeginOutputReadLine();
        host._host.BeginErrorReadLine();
        try
        {
            host.MachinePid = await started.Task.WaitAsync(TimeSpan.FromSeconds(90), cancellationToken);
            return host;
        }
        catch (TimeoutException)
        {
            host.Dispose();
            Assert.Fail($"the orphan host did not launch QEMU; its output:\n{host.Output}");
            throw;
        }
    }

    /// <summary>SIGKILLs the host (no managed code of it runs any more) and waits, bounded, until it is gone.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        _host.Kill();

        // Not WaitForExitAsync: it would also wait for the output pipes to close.
        DateTime hostDeadline = DateTime.UtcNow.AddSeconds(20);
        while (!_host.HasExited && DateTime.UtcNow < hostDeadline)
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.True(_host.HasExited);
    }

    public void Dispose()
    {
        if (!_host.HasExited)
        {
            _host.Kill();
        }

        _host.Dispose();
    }

    private static string Path()
    {
        // artifacts/bin/QemuTestKit.Tests/<config>/ → artifacts/bin/QemuTestKit.Tests.OrphanHost/<config>/
        string own = AppContext.BaseDirectory.TrimEnd('/');
        string config = System.IO.Path.GetFileName(own);
        string path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(own))!, "QemuTestKit.Tests.OrphanHost", config, "QemuTestKit.Tests.OrphanHost");
        Assert.True(File.Exists(path), $"the orphan host was not built at {path}");
        return path;
    }

    private void Append(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
