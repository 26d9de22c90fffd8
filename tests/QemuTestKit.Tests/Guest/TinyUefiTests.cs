using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// The tiny guest booted by UEFI firmware (OVMF, AAVMF) from its GPT disk image, not <c>-kernel</c>: the path a user's
/// own OS image takes.
/// </summary>
public sealed class TinyUefiTests
{
    [Theory(Timeout = 400_000)]
    [InlineData(BuiltInProfiles.TinyUefiX86_64, "x86_64")]
    [InlineData(BuiltInProfiles.TinyUefiAarch64, "aarch64")]
    public async Task Firmware_boots_the_disk_image_with_a_private_variable_store(string name, string arch)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(name);
        QemuLaunchPlan plan = QemuLaunchPlan.Resolve(profile);
        Assert.Null(profile.Kernel);
        UefiFirmware firmware = Assert.IsType<UefiFirmware>(plan.Firmware);

        await using TinyGuestVm vm = await TinyGuestVm.BootAsync(profile, ct);

        Assert.Equal(arch, await vm.Console.RunAsync("uname -m", profile.BootTimeout, ct));
        // The command line comes from the disk's startup.nsh (the EFI stub loads the initramfs named there).
        Assert.Contains(@"initrd=\initramfs.gz", await vm.SucceedAsync("cat /proc/cmdline", ct), StringComparison.Ordinal);
        // The firmware's variable store is this VM's own copy, writable by QEMU only, not the shared template.
        string store = Path.Combine(vm.Machine.TempDir, UefiFirmware.VariablesFileName);
        Assert.Equal(new FileInfo(firmware.VariablesTemplate).Length, new FileInfo(store).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store));
        }
        Assert.Contains(plan.Arguments, a => a.Contains("unit=0,readonly=on,file=" + firmware.Code, StringComparison.Ordinal));

        await vm.PowerOffAsync(ct);
        // Disposing asserts the machine's temp folder, and the variable store in it, is gone.
    }

    [Fact(Timeout = 300_000)]
    public async Task InterruptUntil_stops_the_firmware_countdown_and_the_boot_continues_when_told()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        QemuProfile profile = TinyGuestVm.BuiltIn(BuiltInProfiles.TinyUefiX86_64);
        await using TinyGuestVm vm = await TinyGuestVm.LaunchAsync(profile, ct);
        QemuConsole console = vm.Console;

        // Keys sent before the countdown would reach the firmware's boot manager (ESC there opens its setup menu).
        await console.WaitForAsync(new Regex(@"Press \S*ESC\S* in \d+ seconds"), timeout: profile.BootTimeout, cancellationToken: ct);
        ConsoleMatch stopped = await console.InterruptUntilAsync(new Regex("Shell> "), "\x1b", timeout: profile.BootTimeout, cancellationToken: ct);
        Assert.DoesNotContain(BuiltInProfiles.TinyReadyMarker, stopped.Before, StringComparison.Ordinal);

        // The UEFI shell is ours now: it answers, and the kernel has not started.
        await console.SendAsync("echo qtk-in-the-firmware\r", ct);
        await console.WaitForAsync(new Regex("(?m)^qtk-in-the-firmware"), timeout: profile.BootTimeout, cancellationToken: ct);

        // Continue the boot the firmware would have run.
        await console.SendAsync(@"fs0:\startup.nsh" + "\r", ct);
        await console.WaitForAsync(profile.ReadyPattern!, profile.FailurePatterns, profile.BootTimeout, ct);
        await console.WaitForAsync(profile.Prompt!, null, profile.BootTimeout, ct);
        Assert.Equal("x86_64", await console.RunAsync("uname -m", profile.BootTimeout, ct));
        await vm.PowerOffAsync(ct);
    }
}
