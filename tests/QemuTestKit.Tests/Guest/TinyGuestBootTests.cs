using System.Diagnostics;
using System.Text;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// The tiny guest's contract, checked against a bare QEMU process (serial on stdio) so that it holds
/// independently of the kit's own launcher.
/// </summary>
public sealed class TinyGuestBootTests
{
    [Fact(Timeout = 60_000)]
    public async Task Boots_to_marker_and_answers_a_shell_command()
    {
        using var qemu = StartGuest(TestPrerequisites.Append);
        using var output = new SerialReader(qemu.Process.StandardOutput);

        await output.WaitForAsync(TestPrerequisites.ReadyMarker, TestContext.Current.CancellationToken);
        await output.WaitForAsync(TestPrerequisites.Prompt, TestContext.Current.CancellationToken);
        await qemu.Process.StandardInput.WriteAsync("echo $((6*7))-$(uname -s)\n");
        await output.WaitForAsync("42-Linux", TestContext.Current.CancellationToken);
        await qemu.Process.StandardInput.WriteAsync("poweroff\n");
        await qemu.Process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, qemu.Process.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Runs_the_command_from_the_kernel_command_line_and_powers_off()
    {
        using var qemu = StartGuest(TestPrerequisites.Append + " qtk.run=\"echo from-cmdline; exit 7\"");
        using var output = new SerialReader(qemu.Process.StandardOutput);

        await output.WaitForAsync("QEMUTESTKIT-RUN-EXIT=7", TestContext.Current.CancellationToken);
        await qemu.Process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Contains("from-cmdline", output.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(TestPrerequisites.ReadyMarker, output.Text, StringComparison.Ordinal);
        Assert.Equal(0, qemu.Process.ExitCode);
    }

    private static GuestProcess StartGuest(string append)
    {
        var psi = new ProcessStartInfo(TestPrerequisites.QemuBinary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", TestPrerequisites.Kernel, "-initrd", TestPrerequisites.Initrd,
            "-append", append, "-serial", "stdio",
        })
        {
            psi.ArgumentList.Add(arg);
        }

        return new GuestProcess(Process.Start(psi)!);
    }

    /// <summary>Kills the QEMU it owns if a test leaves early, so no process outlives the test.</summary>
    private sealed class GuestProcess(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }

    private sealed class SerialReader : IDisposable
    {
        private readonly StringBuilder _text = new();
        private readonly Task _pump;
        private readonly SemaphoreSlim _changed = new(0);

        public SerialReader(StreamReader reader)
        {
            _pump = Task.Run(async () =>
            {
                char[] buffer = new char[4096];
                int n;
                while ((n = await reader.ReadAsync(buffer)) > 0)
                {
                    lock (_text)
                    {
                        _text.Append(buffer, 0, n);
                    }

                    _changed.Release();
                }
            });
        }

        public void Dispose() => _changed.Dispose();

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public async Task WaitForAsync(string needle, CancellationToken cancellationToken)
        {
            while (!Text.Contains(needle, StringComparison.Ordinal))
            {
                if (_pump.IsCompleted && !Text.Contains(needle, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"QEMU's serial output ended without '{needle}'. Output:\n{Text}");
                }

                await _changed.WaitAsync(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }
}
