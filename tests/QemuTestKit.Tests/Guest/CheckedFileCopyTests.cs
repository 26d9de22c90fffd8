using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using QemuTestKit.Guest;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// The steps every checked copy takes (<see cref="CheckedFileCopy"/>), with this host's own <c>/bin/sh</c> and
/// <c>sha256sum</c> standing in for the guest's shell and a folder of this host standing in for the guest's files: the
/// commands and their parsing are the real ones, and a channel that delivers changed bytes is one delegate away.
/// </summary>
public sealed class CheckedFileCopyTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("qtk-checked-copy-").FullName;
    private readonly List<string> _commands = [];

    [Fact(Timeout = 60_000)]
    public async Task A_file_sent_whole_takes_its_name_in_the_guest_and_leaves_no_part()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] data = Data(300_000);
        string hostPath = Write("in.bin", data);
        string guestPath = Path.Combine(_root, "guest", "in.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(guestPath)!);

        await Copy().ToGuestAsync(hostPath, guestPath, SendAsIs, ct);

        Assert.Equal(data, await File.ReadAllBytesAsync(guestPath, ct));
        Assert.False(File.Exists(guestPath + CheckedFileCopy.PartSuffix));
        Assert.Contains(_commands, c => c.StartsWith("sha256sum ", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_file_that_arrives_changed_names_both_hashes_is_removed_and_the_old_guest_file_stays()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] data = Data(100_000);
        string hostPath = Write("in.bin", data);
        string guestPath = Write("guest-old.bin", Encoding.ASCII.GetBytes("old"));

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => Copy().ToGuestAsync(hostPath, guestPath, SendChanged, ct));

        Assert.Contains($"SHA-256 {Hash(Changed(data))}, sent {Hash(data)} (100000 bytes)", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("Copy(test) failed: ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("[evidence]", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(guestPath + CheckedFileCopy.PartSuffix));
        Assert.Equal("old", await File.ReadAllTextAsync(guestPath, ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_send_that_fails_midway_removes_its_part_and_its_failure_is_what_the_caller_sees()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string hostPath = Write("in.bin", Data(10_000));
        string guestPath = Path.Combine(_root, "guest.bin");
        CheckedFileCopy copy = Copy();
        QemuGuestException broken = copy.Failed("the channel broke");

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => copy.ToGuestAsync(hostPath, guestPath, async (source, size, part, token) =>
        {
            await using (FileStream half = File.Create(part))
            {
                await source.CopyToAsync(half, token);
            }

            throw broken;
        }, ct));

        Assert.Same(broken, ex);
        Assert.False(File.Exists(guestPath + CheckedFileCopy.PartSuffix));
        Assert.False(File.Exists(guestPath));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_guest_file_read_whole_takes_its_name_on_the_host_in_a_new_folder_and_leaves_no_part()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] data = Data(200_000);
        string guestPath = Write("guest.bin", data);
        string hostPath = Path.Combine(_root, "new", "folder", "out.bin");

        await Copy().FromGuestAsync(guestPath, hostPath, Receive(guestPath, changed: false), explainMismatch: null, ct);

        Assert.Equal(data, await File.ReadAllBytesAsync(hostPath, ct));
        Assert.False(File.Exists(hostPath + CheckedFileCopy.PartSuffix));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_guest_file_that_arrives_changed_names_both_hashes_and_leaves_the_host_file_as_it_was()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] data = Data(50_000);
        string guestPath = Write("guest.bin", data);
        string hostPath = Write("out.bin", Encoding.ASCII.GetBytes("old"));
        string? explained = null;

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => Copy().FromGuestAsync(guestPath, hostPath, Receive(guestPath, changed: true), (part, size, _) =>
        {
            explained = $"{File.Exists(part)} {size}";
            return Task.FromResult("the first changed piece starts at byte offset 0");
        }, ct));

        Assert.Contains($"SHA-256 {Hash(Changed(data))} (50000 bytes), the guest has {Hash(data)} (50000 bytes); the first changed piece starts at byte offset 0", ex.Message, StringComparison.Ordinal);
        Assert.Equal("True 50000", explained);
        Assert.False(File.Exists(hostPath + CheckedFileCopy.PartSuffix));
        Assert.Equal("old", await File.ReadAllTextAsync(hostPath, ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_missing_guest_file_fails_in_the_first_step_and_creates_nothing_on_the_host()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string guestPath = Path.Combine(_root, "no-such-file");
        string hostPath = Path.Combine(_root, "x");

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => Copy().FromGuestAsync(guestPath, hostPath, Receive(guestPath, changed: false), null, ct));

        Assert.Contains("reading the file's size and checksum (does it exist?)", ex.Message, StringComparison.Ordinal);
        Assert.Contains(guestPath, ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(hostPath));
        Assert.False(File.Exists(hostPath + CheckedFileCopy.PartSuffix));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private CheckedFileCopy Copy() => new("Copy(test)", RunAsync, () => " [evidence]");

    /// <summary>The stand-in guest shell: this host's <c>/bin/sh</c>, which must exit 0 like the channels' shell steps.</summary>
    private async Task<string> RunAsync(string step, string command, long offset, CancellationToken cancellationToken)
    {
        _commands.Add(command);
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using Process shell = Process.Start(psi)!;
        Task<string> output = shell.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = shell.StandardError.ReadToEndAsync(cancellationToken);
        await shell.WaitForExitAsync(cancellationToken);
        return shell.ExitCode == 0
            ? await output
            : throw CheckedFileCopy.Failure("Copy(test)", $"{step} at byte offset {offset}: '{command}' exited with status {shell.ExitCode}: {await error}");
    }

    private static async Task SendAsIs(Stream source, long size, string part, CancellationToken cancellationToken)
    {
        await using FileStream target = File.Create(part);
        await source.CopyToAsync(target, cancellationToken);
    }

    /// <summary>A channel that reads every byte it was given but delivers the first one changed.</summary>
    private static async Task SendChanged(Stream source, long size, string part, CancellationToken cancellationToken)
    {
        using var read = new MemoryStream();
        await source.CopyToAsync(read, cancellationToken);
        await File.WriteAllBytesAsync(part, Changed(read.ToArray()), cancellationToken);
    }

    private static Func<long, Stream, CancellationToken, Task> Receive(string guestPath, bool changed) => async (size, target, cancellationToken) =>
    {
        byte[] bytes = await File.ReadAllBytesAsync(guestPath, cancellationToken);
        Assert.Equal(bytes.Length, size);
        await target.WriteAsync(changed ? Changed(bytes) : bytes, cancellationToken);
    };

    private string Write(string name, byte[] data)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    private static byte[] Data(int size)
    {
        byte[] data = new byte[size];
        Random.Shared.NextBytes(data);
        return data;
    }

    private static byte[] Changed(byte[] data)
    {
        byte[] copy = [.. data];
        copy[0] ^= 0xFF;
        return copy;
    }

    private static string Hash(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
