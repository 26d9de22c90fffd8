using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The guest toolkit in a real <c>dotnet test</c> run.</summary>
public sealed class GuestToolkitScenarioTests(ScenarioProject scenarios)
{
    private const int TestsFailed = 2;

    [Fact(Timeout = 600_000)]
    public async Task A_failed_test_on_a_vm_with_a_display_gets_its_screenshot_attached()
    {
        ScenarioResult result = await scenarios.RunAsync(["ScreenshotOnFailure"], cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == TestsFailed, result.ToString());
        Assert.Contains("deliberate failure with a red screen", result.Output, StringComparison.Ordinal);
        string[] attached = [.. Directory.GetFiles(result.ResultsDirectory, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}qemutestkit{Path.DirectorySeparatorChar}", StringComparison.Ordinal))];
        string screenshot = Assert.Single(attached, f => Path.GetFileName(f).StartsWith("Scenarios.ScreenshotOnFailure.Fails_with_a_red_screen.screenshot", StringComparison.Ordinal));
        byte[] png = await File.ReadAllBytesAsync(screenshot, TestContext.Current.CancellationToken);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.True(png.Length > 100, $"{screenshot} has {png.Length} bytes");
    }
}
