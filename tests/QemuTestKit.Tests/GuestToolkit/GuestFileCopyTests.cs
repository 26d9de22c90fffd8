using System.Security.Cryptography;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>File copies over the serial console of the real tiny guest.</summary>
public sealed class GuestFileCopyTests(ToolkitGuest vm) : IClassFixture<ToolkitGuest>
{
    [Fact(Timeout = 1_500_000)]
    public async Task A_random_5_MiB_file_with_every_byte_value_goes_in_and_out_unchanged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] data = new byte[5 * 1024 * 1024];
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
