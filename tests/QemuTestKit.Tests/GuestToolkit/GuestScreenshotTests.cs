namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>
/// Screenshots of the guest's display, the same test source on every architecture. A class of its own because the
/// aarch64 guest needs another VM for a screen (<see cref="ToolkitGuestOnAarch64Uefi"/>).
/// </summary>
public abstract class GuestScreenshotTests(ToolkitGuest vm)
{
    [Fact(Timeout = 300_000)]
    public async Task A_screenshot_shows_the_colour_on_screen_with_red_and_blue_in_place()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // Red background on the guest's first virtual terminal (VGA text mode on x86_64, the EFI framebuffer's console on
        // aarch64): QEMU 7.2's own PNG writer would give it as blue.
        await vm.Machine.Console.RunAsync("printf '\\033[41m\\033[2J' > /dev/tty1", cancellationToken: ct);

        string path = await vm.Guest.ScreenshotAsync(ct);

        Assert.StartsWith(vm.ArtifactsDirectory, path, StringComparison.Ordinal);
        PngDecoder png = PngDecoder.Read(path);
        Assert.True(png.Width >= 320 && png.Height >= 200, $"{png.Width}x{png.Height}");
        (byte r, byte g, byte b) = png.Pixel(png.Width / 2, png.Height / 2);
        Assert.True(r >= 0xA0 && g < 0x20 && b < 0x20, $"expected VGA red, got #{r:X2}{g:X2}{b:X2}");
    }
}
