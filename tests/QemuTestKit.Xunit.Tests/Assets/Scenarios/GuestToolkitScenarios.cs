using QemuTestKit.Xunit;

namespace Scenarios;

/// <summary>A test that fails on purpose with a red screen on a VM that has a display: its screenshot is attached.</summary>
[QemuMachine("tiny-display")]
public class ScreenshotOnFailure(QemuVm vm)
{
    [Fact(Timeout = 120_000)]
    public async Task Fails_with_a_red_screen()
    {
        await vm.Console.RunAsync("printf '\\033[41m\\033[2J' > /dev/tty1", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Fail("deliberate failure with a red screen");
    }
}
