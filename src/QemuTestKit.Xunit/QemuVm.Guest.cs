using System.Net;
using QemuTestKit.Qga;
using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

/// <summary>The guest toolkit on the class's VM (<see cref="QemuGuest"/>), following the running test's cancellation when no token is given.</summary>
public sealed partial class QemuVm
{
    private QemuGuest? _guest;

    /// <summary>The toolkit for this VM; screenshots go to <see cref="ArtifactsDirectory"/>.</summary>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public QemuGuest Guest => _guest ??= new QemuGuest(Machine, new QemuGuestOptions { ArtifactsDirectory = ArtifactsDirectory });

    /// <summary>
    /// The QEMU guest agent in the VM, connected before the class's first test (a profile with <c>"guestAgent": true</c>):
    /// command execution with separate stdout, stderr and exit code, file I/O, OS info, shutdown, any agent command.
    /// With the agent connected, <see cref="CopyToGuestAsync"/> and <see cref="CopyFromGuestAsync"/> go through it.
    /// </summary>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    /// <exception cref="QemuMachineException">The profile has no guest agent (the message names the option <c>guestAgent</c>).</exception>
    public QgaClient GuestAgent => Machine.GuestAgent;

    /// <inheritdoc cref="QemuGuest.ForwardPortAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task<IPEndPoint> ForwardPortAsync(int guestPort, CancellationToken cancellationToken = default) =>
        Guest.ForwardPortAsync(guestPort, TestToken(cancellationToken));

    /// <inheritdoc cref="QemuGuest.WaitForOpenPortAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task WaitForOpenPortAsync(int port, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Guest.WaitForOpenPortAsync(port, timeout, TestToken(cancellationToken));

    /// <inheritdoc cref="QemuGuest.WaitUntilSucceedsAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task<string> WaitUntilSucceedsAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Guest.WaitUntilSucceedsAsync(command, timeout, TestToken(cancellationToken));

    /// <inheritdoc cref="QemuGuest.WaitForFileAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task WaitForFileAsync(string path, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Guest.WaitForFileAsync(path, timeout, TestToken(cancellationToken));

    /// <inheritdoc cref="QemuGuest.CopyToGuestAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken = default) =>
        Guest.CopyToGuestAsync(hostPath, guestPath, TestToken(cancellationToken));

    /// <inheritdoc cref="QemuGuest.CopyFromGuestAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken = default) =>
        Guest.CopyFromGuestAsync(guestPath, hostPath, TestToken(cancellationToken));

    /// <inheritdoc cref="QemuGuest.ScreenshotAsync"/>
    /// <exception cref="QemuVmFailureException">The VM did not boot, or it is gone.</exception>
    public Task<string> ScreenshotAsync(CancellationToken cancellationToken = default) =>
        Guest.ScreenshotAsync(TestToken(cancellationToken));

    /// <summary>
    /// Attaches a screenshot to the failing test when the VM has a display; a VM without one (QEMU refuses the
    /// screendump) gets none. Bounded, and never the reason a test fails.
    /// </summary>
    private async Task AttachScreenshotAsync(IXunitTest test)
    {
        if (_machine is not { IsRunning: true })
        {
            return;
        }

        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string path = await Guest.ScreenshotAsync(bound.Token).ConfigureAwait(false);
            string prefix = VmFailureReport.AttachmentPrefix(_className, test.TestCase.TestMethod?.Method.Name ?? test.TestDisplayName);
            TestContext.Current.AddAttachment(prefix + "screenshot", await File.ReadAllBytesAsync(path, CancellationToken.None).ConfigureAwait(false), replaceExistingValue: true, mediaType: "image/png");
        }
        catch (QemuGuestException)
        {
            // No display device: the usual case, nothing to say.
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or IOException or QemuMachineException or InvalidDataException)
        {
            Progress($"no screenshot for the failed test: {VmBootLog.FirstLine(ex.Message)}");
        }
    }

    private static CancellationToken TestToken(CancellationToken given) =>
        given.CanBeCanceled ? given : TestContext.Current.CancellationToken;
}
