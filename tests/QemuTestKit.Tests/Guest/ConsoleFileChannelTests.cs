using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using QemuTestKit.Guest;
using QemuTestKit.Tests.Console;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// The console's file channel against a scripted shell (<see cref="FakeShell"/>) that answers with changed bytes, which
/// a real guest never does on demand: a failed copy leaves no part file on either side.
/// </summary>
public sealed partial class ConsoleFileChannelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("qtk-console-copy-").FullName;

    [Fact(Timeout = 120_000)]
    public async Task A_guest_file_that_arrives_changed_leaves_no_part_on_the_host_and_the_old_file_as_it_was()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] inGuest = Encoding.ASCII.GetBytes("abcd");
        string hostPath = Path.Combine(_root, "out.bin");
        await File.WriteAllTextAsync(hostPath, "old", ct);
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => command switch
        {
            _ when command.StartsWith("wc -c < ", StringComparison.Ordinal) => new ShellReply($"4\n{Hash(inGuest)}  -\n"),
            _ when command.EndsWith("| base64", StringComparison.Ordinal) => new ShellReply(Convert.ToBase64String("abcX"u8) + "\n"),
            _ when command.EndsWith("| sha256sum", StringComparison.Ordinal) => new ShellReply($"{Hash(inGuest)}  -\n"),
            _ => new ShellReply("unexpected\n", Status: 127),
        });
        var channel = new ConsoleFileChannel(peer.Console, new QemuGuestOptions());

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => channel.CopyFromGuestAsync("/tmp/file", hostPath, ct));

        Assert.Contains($"the guest has {Hash(inGuest)} (4 bytes); the first changed piece starts at byte offset 0", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(hostPath + CheckedFileCopy.PartSuffix));
        Assert.Equal("old", await File.ReadAllTextAsync(hostPath, ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_piece_that_arrives_changed_in_the_guest_is_followed_by_removing_the_part()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        // One line, so the scripted shell (which reads lines) takes the raw piece as one more line and answers it.
        string hostPath = Path.Combine(_root, "in.txt");
        await File.WriteAllTextAsync(hostPath, "piece\n", ct);
        await using FakeConsolePeer peer = await StartAsync();
        await using FakeShell shell = await FakeShell.StartAsync(peer, command => command switch
        {
            _ when command.StartsWith(": > ", StringComparison.Ordinal) => new ShellReply(""),
            _ when ReadyMarker().Match(command) is { Success: true } ready => new ShellReply($"__QTKR{ready.Groups["id"].Value}\n{new string('0', 64)}  -\n"),
            _ when command.StartsWith("rm -f ", StringComparison.Ordinal) => new ShellReply(""),
            _ => new ShellReply(""),
        });
        var channel = new ConsoleFileChannel(peer.Console, new QemuGuestOptions());

        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => channel.CopyToGuestAsync(hostPath, "/tmp/in.txt", ct));

        Assert.Contains($"bytes 0–5 arrived changed (SHA-256 in the guest {new string('0', 64)}, sent {Hash("piece\n"u8.ToArray())})", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rm -f '/tmp/in.txt.qtk-part'", shell.Commands);
        Assert.DoesNotContain(shell.Commands, c => c.StartsWith("mv ", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static async Task<FakeConsolePeer> StartAsync()
    {
        FakeConsolePeer peer = await FakeConsolePeer.StartAsync();
        QemuProfileMachine.ConfigureConsole(new QemuProfile("tiny-like") { Prompt = FakeShell.PromptText }, peer.Console);
        return peer;
    }

    private static string Hash(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    [GeneratedRegex("""echo "__QTKR""(?<id>\w+)";""")]
    private static partial Regex ReadyMarker();
}
