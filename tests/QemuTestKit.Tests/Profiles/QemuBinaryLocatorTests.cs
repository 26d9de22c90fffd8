using QemuTestKit.Tests.HostTools;
using QemuTestKit.Tests.Infrastructure;

namespace QemuTestKit.Tests.Profiles;

/// <summary>A QEMU binary that is not one is named as such, quickly, and nothing it started is left running.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuBinaryLocatorTests : IDisposable
{
    private static readonly TimeSpan TestBound = TimeSpan.FromSeconds(120);
    private readonly FakeTools _tools = new();

    public void Dispose() => _tools.Dispose();

    [Fact]
    public void A_real_qemu_resolves()
    {
        string qemu = Path.GetFullPath(TestPrerequisites.QemuBinary);

        Assert.Equal(qemu, QemuBinaryLocator.Resolve(new QemuProfile("p") { QemuBinary = qemu }));
    }

    [Fact]
    public async Task A_qemu_that_hangs_on_version_is_killed_at_the_bound_named_and_asked_once()
    {
        string pidFile = Path.Combine(_tools.Directory, "pids");
        string fake = _tools.Hanging("qemu-system-x86_64", pidFile);
        var profile = new QemuProfile("p") { QemuBinary = fake };

        QemuMachineException ex = await Assert.ThrowsAsync<QemuMachineException>(
            () => Task.Run(() => QemuBinaryLocator.Resolve(profile), TestContext.Current.CancellationToken).WaitAsync(TestBound, TestContext.Current.CancellationToken));

        Assert.Contains($"'{fake}' is not a working QEMU: '{fake} --version' did not exit within 10 s, so it was killed", ex.Message, StringComparison.Ordinal);
        Assert.Contains("The QEMU binary the build recorded for profile 'p'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("<QemuBinary>", ex.Message, StringComparison.Ordinal);
        foreach (int pid in FakeTools.ReadPids(pidFile))
        {
            Assert.False(await FakeTools.StillThereAsync(pid), $"pid {pid} of the hanging 'QEMU' is still there");
        }

        // The verdict is remembered for the unchanged file: a second boot does not wait out the bound again.
        File.Delete(pidFile);
        Assert.Throws<QemuMachineException>(() => QemuBinaryLocator.Resolve(profile));
        Assert.False(File.Exists(pidFile), "the hanging binary was started a second time");
    }

    [Fact]
    public void A_program_that_is_not_qemu_is_named_as_such_with_what_it_printed()
    {
        string fake = _tools.Script("qemu-system-x86_64", "echo 'GNU bash, version 5.2'");

        QemuMachineException ex = Assert.Throws<QemuMachineException>(
            () => QemuBinaryLocator.Resolve(new QemuProfile("p") { QemuBinary = fake }));

        Assert.Contains($"'{fake}' is not QEMU: '{fake} --version' exited with 0 and printed 'GNU bash, version 5.2'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'QEMU emulator version …'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bin_true_as_qemu_is_not_qemu()
    {
        QemuMachineException ex = Assert.Throws<QemuMachineException>(
            () => QemuBinaryLocator.Resolve(new QemuProfile("p"), Environment("/bin/true")));

        Assert.Contains("QEMU_BINARY ('/bin/true') cannot be used: '/bin/true' is not QEMU", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'/bin/true --version' exited with 0 and printed '", ex.Message, StringComparison.Ordinal); // coreutils' version text
        Assert.Contains("Set QEMU_BINARY to a working qemu-system-", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_as_qemu_binary_says_it_is_a_folder()
    {
        QemuMachineException ex = Assert.Throws<QemuMachineException>(
            () => QemuBinaryLocator.Resolve(new QemuProfile("p"), Environment(_tools.Directory)));

        Assert.Contains($"QEMU_BINARY ('{_tools.Directory}') cannot be used: '{_tools.Directory}' is a folder, not a program", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_the_execute_bit_says_so_and_how_to_fix_it()
    {
        string fake = _tools.Script("qemu-system-x86_64", "echo 'QEMU emulator version 7.2.0'", executable: false);

        QemuMachineException ex = Assert.Throws<QemuMachineException>(
            () => QemuBinaryLocator.Resolve(new QemuProfile("p"), Environment(fake)));

        Assert.Contains($"'{fake}' is not executable", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod +x {fake}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_says_it_does_not_exist()
    {
        string missing = Path.Combine(_tools.Directory, "nope");

        FileNotFoundException ex = Assert.Throws<FileNotFoundException>(
            () => QemuBinaryLocator.Resolve(new QemuProfile("p"), Environment(missing)));

        Assert.Contains($"QEMU_BINARY ('{missing}') cannot be used: '{missing}' does not exist", ex.Message, StringComparison.Ordinal);
    }

    private static Func<string, string?> Environment(string qemuBinary) => name => name == "QEMU_BINARY" ? qemuBinary : null;
}
