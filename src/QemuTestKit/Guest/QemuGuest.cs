using System.Globalization;
using System.Net;
using QemuTestKit.Guest;

namespace QemuTestKit;

/// <summary>
/// The guest toolkit for a running <see cref="QemuMachine"/> with a shell on its console: waits that run one guest-side
/// loop, file copies checked with SHA-256, TCP ports forwarded from 127.0.0.1, and screenshots as PNG. The xunit
/// <c>QemuVm</c> offers the same calls with the running test's cancellation.
/// </summary>
/// <remarks>
/// Calls are serialized: one guest command at a time on the console. Waits without a timeout use
/// <see cref="QemuGuestOptions.DefaultWaitTimeout"/>; a timeout is a <see cref="TimeoutException"/> that says what was
/// awaited, for how long, and shows the console tail.
/// </remarks>
// The gate is a SemaphoreSlim whose wait handle is never created: nothing to dispose, so the toolkit needs no lifetime of its own.
#pragma warning disable CA1001
public sealed class QemuGuest
#pragma warning restore CA1001
{
    private static readonly TimeSpan s_grace = TimeSpan.FromSeconds(60);

    private readonly QemuMachine _machine;
    private readonly QemuGuestOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly PortForwarder _ports;
    private readonly AgentFileChannel _agentFiles;
    private IGuestFileChannel? _files;
    private ConsoleFileChannel? _consoleFiles;
    private int _screenshots;

    /// <summary>Creates the toolkit for <paramref name="machine"/> (launched or not yet; calls need it running).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="machine"/> is null.</exception>
    public QemuGuest(QemuMachine machine, QemuGuestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        _machine = machine;
        _options = options ?? new QemuGuestOptions();
        _ports = new PortForwarder(machine, _options);
        _agentFiles = new AgentFileChannel(() => machine.GuestAgent);
    }

    /// <summary>
    /// The channel file copies use: one that was set, else the guest agent while it is connected (much faster, and no
    /// shell needed), else the console. Decided per copy, so an agent that connects or goes away is followed.
    /// </summary>
    internal IGuestFileChannel FileChannel
    {
        get => _files ?? (_machine.ConnectedGuestAgent is not null ? _agentFiles : ConsoleChannel);
        set => _files = value;
    }

    /// <summary>The serial console's channel, the fallback for any guest with a shell there.</summary>
    internal IGuestFileChannel ConsoleChannel => _consoleFiles ??= new ConsoleFileChannel(_machine.Console, _options);

    /// <summary>
    /// Forwards a free TCP port on 127.0.0.1 (the kernel picks it when QEMU binds) to guest TCP <paramref name="guestPort"/>
    /// on the VM's user-mode network. The forward lasts as long as the QEMU process; the same port twice gives the same endpoint.
    /// </summary>
    /// <exception cref="QemuGuestException">The VM has no user-mode network (or several and no <see cref="QemuGuestOptions.NetdevId"/>), or QEMU refused the forward.</exception>
    /// <exception cref="TimeoutException">QEMU did not answer within <see cref="QemuGuestOptions.CommandTimeout"/>.</exception>
    public Task<IPEndPoint> ForwardPortAsync(int guestPort, CancellationToken cancellationToken = default) =>
        SerializedAsync(() => _ports.ForwardAsync(guestPort, cancellationToken), cancellationToken);

    /// <summary>Waits until something listens on guest TCP <paramref name="port"/> (IPv4 or IPv6), checked by one loop in the guest.</summary>
    /// <exception cref="TimeoutException">Nothing listened within the timeout; the message has the console tail.</exception>
    public Task WaitForOpenPortAsync(int port, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return WaitInGuestAsync(GuestShell.ListeningCheck(port), $"WaitForOpenPortAsync({port}): nothing listened on guest TCP port {port}", timeout, cancellationToken);
    }

    /// <summary>Waits until <paramref name="path"/> exists in the guest, checked by one loop in the guest.</summary>
    /// <exception cref="TimeoutException">The file did not appear within the timeout; the message has the console tail.</exception>
    public Task WaitForFileAsync(string path, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return WaitInGuestAsync("test -e " + GuestShell.Quote(path), $"WaitForFileAsync(\"{path}\"): the file did not appear", timeout, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the guest's shell until it exits 0, waiting 0.25 s after the first failure and
    /// twice as long after each next one (at most 4 s), and returns the successful run's output.
    /// </summary>
    /// <exception cref="TimeoutException">It did not succeed within the timeout; the message has its last status and output and the console tail.</exception>
    public Task<string> WaitUntilSucceedsAsync(string command, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        return SerializedAsync(async () =>
        {
            TimeSpan limit = timeout ?? _options.DefaultWaitTimeout;
            DateTime end = DateTime.UtcNow + limit;
            TimeSpan pause = TimeSpan.FromMilliseconds(250);
            int tries = 0;
            while (true)
            {
                tries++;
                TimeSpan left = end - DateTime.UtcNow;
                ConsoleExecResult result;
                try
                {
                    result = await _machine.Console.ExecAsync(command, left > TimeSpan.Zero ? left : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException ex)
                {
                    await InterruptAsync().ConfigureAwait(false);
                    throw TimedOut($"WaitUntilSucceedsAsync(\"{command}\"): try {tries} was still running when the time was up", limit, ex);
                }

                if (result.ExitCode == 0)
                {
                    return result.Output;
                }

                if (DateTime.UtcNow + pause >= end)
                {
                    throw TimedOut($"WaitUntilSucceedsAsync(\"{command}\"): it did not exit 0 in {tries} tries (last status {result.ExitCode}, output: {result.Output})", limit, null);
                }

                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(4).Ticks));
            }
        }, cancellationToken);
    }

    /// <summary>Copies a host file into the guest (binary-safe), checked with SHA-256 on arrival; the guest file is replaced only once it matched.</summary>
    /// <exception cref="FileNotFoundException"><paramref name="hostPath"/> does not exist.</exception>
    /// <exception cref="QemuGuestException">The copy failed; the message names the file and the byte offset.</exception>
    /// <exception cref="TimeoutException">A piece took longer than <see cref="QemuGuestOptions.CopyChunkTimeout"/>.</exception>
    public Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostPath);
        ArgumentException.ThrowIfNullOrEmpty(guestPath);
        return SerializedAsync(async () =>
        {
            await FileChannel.CopyToGuestAsync(hostPath, guestPath, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>Copies a guest file to the host (binary-safe), checked with SHA-256 on arrival; the host file is replaced only once it matched.</summary>
    /// <exception cref="QemuGuestException">The file does not exist in the guest, or the copy failed; the message names the file and the byte offset.</exception>
    /// <exception cref="TimeoutException">A piece took longer than <see cref="QemuGuestOptions.CopyChunkTimeout"/>.</exception>
    public Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostPath);
        ArgumentException.ThrowIfNullOrEmpty(guestPath);
        return SerializedAsync(async () =>
        {
            await FileChannel.CopyFromGuestAsync(guestPath, hostPath, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Takes a screenshot of the VM's display (QMP <c>screendump</c> as PPM, converted to PNG with correct colours) into
    /// <see cref="QemuGuestOptions.ArtifactsDirectory"/> as <c>screenshot-N.png</c>, and returns its path.
    /// </summary>
    /// <exception cref="QemuGuestException">The VM has no display device (give the profile one, e.g. <c>-device VGA</c>).</exception>
    /// <exception cref="TimeoutException">QEMU did not answer within <see cref="QemuGuestOptions.CommandTimeout"/>.</exception>
    public Task<string> ScreenshotAsync(CancellationToken cancellationToken = default) =>
        SerializedAsync(async () =>
        {
            string directory = _options.ArtifactsDirectory ?? _machine.LogDir;
            Directory.CreateDirectory(directory);
            int number = Interlocked.Increment(ref _screenshots);
            string png = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"screenshot-{number}.png"));
            string ppm = Path.Combine(_machine.TempDir, string.Create(CultureInfo.InvariantCulture, $"screenshot-{number}.ppm"));
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.CommandTimeout);
            try
            {
                await _machine.Qmp.ExecuteAsync("screendump", new Dictionary<string, object?> { ["filename"] = ppm }, deadline.Token).ConfigureAwait(false);
            }
            catch (Qmp.QmpCommandException ex)
            {
                throw new QemuGuestException($"ScreenshotAsync: QEMU could not take a screenshot ({ex.Message}). Give the profile a display device, e.g. extra args '-device VGA' (with '-display none').", ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"ScreenshotAsync: QEMU did not answer 'screendump' within {_options.CommandTimeout.TotalSeconds:0} s (QemuGuestOptions.CommandTimeout).", ex);
            }

            try
            {
                PngImage.ConvertPpm(ppm, png);
            }
            finally
            {
                File.Delete(ppm);
            }

            return png;
        }, cancellationToken);

    private Task<bool> WaitInGuestAsync(string check, string what, TimeSpan? timeout, CancellationToken cancellationToken) =>
        SerializedAsync(async () =>
        {
            TimeSpan limit = timeout ?? _options.DefaultWaitTimeout;
            ConsoleExecResult result;
            try
            {
                // The loop ends on the guest's clock; the grace covers a slow console, not the wait itself.
                result = await _machine.Console.ExecAsync(GuestShell.RetryLoop(check, limit), limit + s_grace, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                await InterruptAsync().ConfigureAwait(false);
                throw TimedOut(what + " and the guest's loop did not report", limit, ex);
            }

            return result.ExitCode == 0 ? true : throw TimedOut(what, limit, null);
        }, cancellationToken);

    /// <summary>Ctrl-C and a resync, so a command that outlived its wait does not hold the shell; best effort.</summary>
    private async Task InterruptAsync()
    {
        try
        {
            await _machine.Console.SendAsync("\u0003").ConfigureAwait(false);
            await _machine.Console.ExecAsync("true", TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or QemuConsoleException or ObjectDisposedException)
        {
            // The shell did not come back; the caller's TimeoutException already says why.
        }
    }

    private TimeoutException TimedOut(string what, TimeSpan limit, Exception? inner) =>
        new($"{what} within {limit.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s.\nConsole tail:\n{_machine.Console.Tail()}", inner);

    private async Task<T> SerializedAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
