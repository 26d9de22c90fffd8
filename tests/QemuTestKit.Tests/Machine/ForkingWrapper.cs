namespace QemuTestKit.Tests.Machine;

/// <summary>
/// A wrapper script that starts QEMU as a child and waits for it, without exec (as gdb does): the process the launcher
/// started is the shell, and QEMU is its child.
/// </summary>
internal sealed class ForkingWrapper : IDisposable
{
    private readonly ScratchDirectory _directory = new("qtk-wrapper");

    public ForkingWrapper()
    {
        Path = System.IO.Path.Combine(_directory.Path, "fork-wrapper.sh");
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("a shell wrapper needs a Unix host");
        }

        File.WriteAllText(Path, "#!/bin/sh\n\"$@\" &\nwait\n");
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Path { get; }

    /// <summary>The QEMU child of the wrapper process <paramref name="wrapperPid"/>, waiting until it has forked.</summary>
    public static async Task<int> QemuChildAsync(int wrapperPid, CancellationToken cancellationToken)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            IReadOnlyList<int> children = LeakCheck.QemuChildrenOf(wrapperPid);
            if (children.Count == 1)
            {
                return children[0];
            }

            Assert.True(DateTime.UtcNow < until, $"the wrapper {wrapperPid} has QEMU children [{string.Join(", ", children)}], expected one");
            await Task.Delay(50, cancellationToken);
        }
    }

    public void Dispose() => _directory.Dispose();
}
