using System.Security.Cryptography;
using QemuTestKit.Qga;

namespace QemuTestKit.Tests.Qga;

/// <summary>
/// Debian's qemu-ga in the tiny guest, through the kit: exec with separate output streams and exit code, OS info, and
/// file copies through <see cref="QemuGuest"/>, which takes the agent's channel once the agent is connected. The same
/// test source on each architecture (one derived class and fixture per architecture).
/// </summary>
public abstract class AgentGuestTests(AgentGuest vm, string arch)
{
    [Fact(Timeout = 300_000)]
    public async Task Exec_returns_stdout_stderr_and_a_non_zero_exit_code()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        QgaExecResult result = await vm.Machine.GuestAgent.ExecAsync("/bin/sh", ["-c", "echo to-stdout; echo to-stderr >&2; exit 3"], cancellationToken: ct);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("to-stdout\n", result.StandardOutputText);
        Assert.Equal("to-stderr\n", result.StandardErrorText);
        Assert.Null(result.Signal);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_guest_booted_the_agent_initramfs_which_holds_qemu_ga()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        QgaExecResult agent = await vm.Machine.GuestAgent.ExecAsync("/bin/sh", ["-c", "test -x /sbin/qemu-ga"], cancellationToken: ct);

        Assert.Equal(BuiltInProfiles.TinyAgentInitrd, Path.GetFileName(vm.Profile.Initrd));
        Assert.Equal(0, agent.ExitCode);
    }

    [Fact(Timeout = 300_000)]
    public async Task Os_info_names_Linux_on_this_architecture()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        QgaOsInfo os = await vm.Machine.GuestAgent.GetOsInfoAsync(ct);

        Assert.Equal("Linux", os.Name);
        Assert.Equal("linux", os.Id);
        Assert.Equal(arch, os.Machine);
        Assert.Equal((await vm.Machine.Console.RunAsync("uname -r", cancellationToken: ct)).Trim(), os.KernelRelease);
    }

    [Fact(Timeout = 900_000)]
    public async Task A_16_MiB_file_goes_in_and_out_through_the_agent_with_the_same_SHA_256()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] data = new byte[16 * 1024 * 1024];
        Random.Shared.NextBytes(data);
        for (int i = 0; i < 256; i++)
        {
            data[i] = (byte)i; // every byte value, whatever the random draw
        }

        string hostIn = Path.Combine(vm.Scratch, "in.bin");
        string hostOut = Path.Combine(vm.Scratch, "back", "out.bin");
        await File.WriteAllBytesAsync(hostIn, data, ct);
        string expected = Convert.ToHexStringLower(SHA256.HashData(data));

        Assert.Equal("agent", vm.Guest.FileChannel.Name);
        await vm.Guest.CopyToGuestAsync(hostIn, "/tmp/agent-in.bin", ct);
        QgaExecResult inGuest = await vm.Machine.GuestAgent.ExecAsync("/bin/sha256sum", ["/tmp/agent-in.bin"], cancellationToken: ct);
        await vm.Guest.CopyFromGuestAsync("/tmp/agent-in.bin", hostOut, ct);

        Assert.Equal(expected, inGuest.StandardOutputText.Split(' ')[0]);
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(hostOut, ct))));
        Assert.False(File.Exists(hostOut + ".qtk-part"));
        QgaExecResult part = await vm.Machine.GuestAgent.ExecAsync("/bin/sh", ["-c", "test -e /tmp/agent-in.bin.qtk-part"], cancellationToken: ct);
        Assert.NotEqual(0, part.ExitCode);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_copy_of_a_missing_guest_file_through_the_agent_names_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => vm.Guest.CopyFromGuestAsync("/tmp/no-such-file", Path.Combine(vm.Scratch, "x"), ct));

        Assert.Contains("/tmp/no-such-file", ex.Message, StringComparison.Ordinal);
        Assert.Contains("guest agent", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(vm.Scratch, "x.qtk-part")));
    }
}
