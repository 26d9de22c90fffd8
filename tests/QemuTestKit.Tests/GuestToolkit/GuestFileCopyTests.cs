using System.Security.Cryptography;
using QemuTestKit.Guest;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// File copies over the serial console of the real tiny guest, the same test source on every architecture; each derived
/// class says how many bytes to copy (the console moves ~0.02 MB/s into a TCG guest, so an emulated one gets a small file).
/// </summary>
public abstract class GuestFileCopyTests(ToolkitGuest vm, int size)
{
    [Fact(Timeout = 1_500_000)]
    public async Task A_random_file_with_every_byte_value_goes_in_and_out_unchanged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // More than one piece, so the pieces' offsets and the whole-file check are exercised too.
        Assert.True(size > ConsoleFileChannel.ChunkSize, $"{size} bytes is one piece");
        byte[] data = new byte[size];
        Random.Shared.NextBytes(data);
        for (int i = 0; i < 256; i++)
        {
            data[i] = (byte)i; // every byte value, whatever the random draw
        }

        string hostIn = Path.Combine(vm.ArtifactsDirectory, "in.bin");
        string hostOut = Path.Combine(vm.ArtifactsDirectory, "back", "out.bin");
        await File.WriteAllBytesAsync(hostIn, data, ct);
        string expected = Convert.ToHexStringLower(SHA256.HashData(data));

        await vm.Guest.CopyToGuestAsync(hostIn, "/tmp/in.bin", ct);
        string inGuest = await vm.Machine.Console.RunAsync("sha256sum /tmp/in.bin", TimeSpan.FromSeconds(120), ct);
        await vm.Guest.CopyFromGuestAsync("/tmp/in.bin", hostOut, ct);

        Assert.Equal(expected, inGuest.Split(' ')[0]);
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(hostOut, ct))));
        Assert.False(File.Exists(hostOut + ".qtk-part"));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_copy_of_a_missing_guest_file_names_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var ex = await Assert.ThrowsAsync<QemuGuestException>(() => vm.Guest.CopyFromGuestAsync("/tmp/no-such-file", Path.Combine(vm.ArtifactsDirectory, "x"), ct));

        Assert.Contains("/tmp/no-such-file", ex.Message, StringComparison.Ordinal);
        Assert.Contains("byte offset 0", ex.Message, StringComparison.Ordinal);
    }
}
