using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QemuTestKit.Xunit.Tests;

/// <summary>QEMU's gdb stub on a private unix socket: Debian's gdb attaches to a tiny VM started halted, which then boots.</summary>
public sealed partial class GdbStubTests : IDisposable
{
    private readonly string _artifacts = Directory.CreateTempSubdirectory("qtk-gdb-test-").FullName;

    [Fact(Timeout = 600_000)]
    public async Task Gdb_in_batch_mode_reads_pc_of_a_halted_vm_continues_it_and_the_vm_boots_to_ready()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = BuiltInProfiles.TryCreate(BuiltInProfiles.TinyX86_64, AppContext.BaseDirectory)! with { Gdb = QemuGdbStub.Halt };
        var progress = new ConcurrentQueue<string>();
        var launched = new TaskCompletionSource<QemuMachine>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<QemuBootResult> boot = QemuBoot.StartAsync(
            profile,
            new QemuBootOptions { ArtifactsDirectory = _artifacts, Progress = progress.Enqueue, Launched = m => launched.TrySetResult(m) },
            ct);

        QemuMachine machine = await launched.Task.WaitAsync(ct);
        int pid = machine.Pid ?? throw new InvalidOperationException("no pid");
        try
        {
            string socket = Assert.IsType<string>(machine.GdbSocketPath);
            Assert.Equal(socket, machine.LaunchSpec!.GdbPath); // data for launchers that relay it, not argv to re-parse
            Assert.Contains("-S", machine.CommandLine);
            Assert.Contains("chardev:gdb0", machine.CommandLine);
            Assert.False(boot.IsCompleted, "the boot waits for the debugger");
            string status = (await machine.Qmp.ExecuteAsync("query-status", cancellationToken: ct)).GetProperty("status").GetString()!;
            Assert.NotEqual("running", status);

            // detach lets the CPUs run, as 'continue' does, and ends gdb (batch mode cannot wait for a running target).
            string gdb = await RunGdbAsync(["-batch", "-nx", "-ex", $"target remote {socket}", "-ex", "p/x $pc", "-ex", "detach"], ct);
            Assert.Matches(PcLine(), gdb);

            QemuBootResult result = await boot.WaitAsync(TimeSpan.FromMinutes(5), ct);
            Assert.Same(machine, result.Machine);
            Assert.Equal("Linux", (await machine.Console.RunAsync("uname -s", cancellationToken: ct)).Trim());
            Assert.Contains(progress, p => p.Contains($"gdb -ex 'target remote {socket}'", StringComparison.Ordinal) && p.Contains("no boot timeout", StringComparison.Ordinal));
            await machine.ShutdownAsync(cancellationToken: ct);
            Assert.False(File.Exists(socket), "the gdb socket is removed with the machine");
        }
        finally
        {
            await machine.DisposeAsync();
        }

        Assert.False(Directory.Exists($"/proc/{pid}"), $"QEMU {pid} is still there");
    }

    [Theory]
    [InlineData("1", QemuGdbStub.Off, QemuGdbStub.On)]
    [InlineData("halt", QemuGdbStub.Off, QemuGdbStub.Halt)]
    [InlineData("0", QemuGdbStub.Halt, QemuGdbStub.Off)]
    [InlineData(null, QemuGdbStub.Halt, QemuGdbStub.Halt)]
    [InlineData(null, QemuGdbStub.Off, QemuGdbStub.Off)]
    public void The_plan_takes_QEMUTESTKIT_GDB_over_the_profile(string? variable, QemuGdbStub inProfile, QemuGdbStub planned)
    {
        var host = new QemuHost(_ => "/usr/bin/qemu-system-x86_64", (_, _) => false, () => null) { GdbOverrideForTests = variable };

        QemuLaunchPlan plan = QemuLaunchPlan.Resolve(new QemuProfile("p") { Gdb = inProfile }, host);

        Assert.Equal(planned, plan.GdbStub);
    }

    [Fact]
    public void An_unknown_QEMUTESTKIT_GDB_value_names_the_values()
    {
        var host = new QemuHost(_ => "/usr/bin/qemu-system-x86_64", (_, _) => false, () => null) { GdbOverrideForTests = "yes please" };

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => QemuLaunchPlan.Resolve(new QemuProfile("p"), host));

        Assert.Contains("QEMUTESTKIT_GDB='yes please'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("halt", ex.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_artifacts, recursive: true);

    private static async Task<string> RunGdbAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("gdb") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using Process gdb = Process.Start(psi) ?? throw new InvalidOperationException("gdb did not start (apt-get install gdb)");
        Task<string> stdout = gdb.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> stderr = gdb.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await gdb.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            gdb.Kill();
            throw;
        }

        string output = await stdout + await stderr;
        Assert.True(gdb.ExitCode == 0, $"gdb exited with {gdb.ExitCode}:\n{output}");
        return output;
    }

    [GeneratedRegex(@"\$1 = 0x[0-9a-f]+")]
    private static partial Regex PcLine();
}
