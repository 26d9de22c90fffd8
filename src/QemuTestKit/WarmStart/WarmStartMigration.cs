using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using QemuTestKit.Qmp;

namespace QemuTestKit;

/// <summary>
/// The QMP side of warm start on QEMU 7.2: save is <c>stop</c> + <c>migrate</c> to <c>exec:cat &gt; file</c>; restore is a
/// machine started with <c>-incoming defer</c> + <c>migrate-incoming</c> from the state file (passed over QMP as <c>fd:</c>,
/// else <c>exec:cat file</c>), then <c>cont</c>.
/// Completion is taken from the <c>MIGRATION</c> event (capability <c>events</c>), not by polling. For a mapped state both
/// sides also turn on <c>x-ignore-shared</c>: the RAM stays in its file and the stream holds only device state.
/// </summary>
internal static class WarmStartMigration
{
    public static readonly string[] IncomingArgs = ["-incoming", "defer"];

    private const string StateFdName = "qtk-warmstart-state";

    private static readonly TimeSpan s_finalizeTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_finalizePoll = TimeSpan.FromMilliseconds(20);

    private static readonly (string Name, object? Match)[] s_finished =
    [
        ("MIGRATION", new { data = new { status = "completed" } }),
        ("MIGRATION", new { data = new { status = "failed" } }),
        ("MIGRATION", new { data = new { status = "cancelled" } }),
    ];

    /// <summary>Stops the guest and writes its state to <paramref name="statePath"/>; the guest stays paused (call <see cref="ContinueAsync"/>).</summary>
    /// <exception cref="QemuMachineException">The migration failed (QEMU's reason in the message).</exception>
    /// <exception cref="TimeoutException">The migration did not finish within <paramref name="timeout"/>.</exception>
    public static async Task SaveAsync(QmpClient qmp, string statePath, bool ignoreShared, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await SetCapabilitiesAsync(qmp, ignoreShared, cancellationToken).ConfigureAwait(false);
        await qmp.ExecuteAsync("stop", cancellationToken: cancellationToken).ConfigureAwait(false);
        await qmp.ExecuteAsync("migrate", new Dictionary<string, object?> { ["uri"] = "exec:cat > " + ShellQuote(statePath) }, cancellationToken).ConfigureAwait(false);
        await WaitFinishedAsync(qmp, "saving the state", timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads the state into a machine started with <see cref="IncomingArgs"/>; the guest stays paused (call <see cref="ContinueAsync"/>).</summary>
    /// <exception cref="QemuMachineException">The migration failed.</exception>
    /// <exception cref="TimeoutException">The migration did not finish within <paramref name="timeout"/>.</exception>
    /// <exception cref="QmpConnectionException">QEMU exited (it does when an incoming migration fails to load).</exception>
    public static async Task LoadAsync(QmpClient qmp, string statePath, bool ignoreShared, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await SetCapabilitiesAsync(qmp, ignoreShared, cancellationToken).ConfigureAwait(false);

        // The path travels in QMP (JSON), not on the command line: the command line stays the same for every restore.
        await qmp.ExecuteAsync("migrate-incoming", new Dictionary<string, object?> { ["uri"] = await IncomingUriAsync(qmp, statePath, cancellationToken).ConfigureAwait(false) }, cancellationToken).ConfigureAwait(false);
        await WaitFinishedAsync(qmp, "loading the state", timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Where QEMU reads the state from: the open file itself, passed over the QMP socket (<c>fd:</c>), so a restore starts
    /// no shell and no <c>cat</c>, which on a busy host cost more than reading the state; <c>exec:cat</c> where descriptors
    /// cannot be passed (QMP over TCP) or the state is not a regular file.
    /// </summary>
    private static async Task<string> IncomingUriAsync(QmpClient qmp, string statePath, CancellationToken cancellationToken)
    {
        // Only a regular file with content is opened here: opening a FIFO or a device could block this process without
        // bound, where QEMU's own "cat" waits under the restore timeout instead (FIFOs and devices report no length).
        if (new FileInfo(statePath) is not { Exists: true, Length: > 0 })
        {
            return "exec:cat " + ShellQuote(statePath);
        }

        // QEMU holds its own copy of the descriptor once it has received it; getfd names the one it received last.
        using (SafeFileHandle state = File.OpenHandle(statePath, FileMode.Open, FileAccess.Read))
        {
            try
            {
                await qmp.SendFileDescriptorAsync(state, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NotSupportedException or PlatformNotSupportedException)
            {
                return "exec:cat " + ShellQuote(statePath);
            }
        }

        await qmp.ExecuteAsync("getfd", new Dictionary<string, object?> { ["fdname"] = StateFdName }, cancellationToken).ConfigureAwait(false);
        return "fd:" + StateFdName;
    }

    /// <summary>Continues the paused guest after a save or a load.</summary>
    /// <exception cref="QmpCommandException">QEMU refused <c>cont</c> (for a save still not finalized after 30 s, that error).</exception>
    public static async Task ContinueAsync(QmpClient qmp, CancellationToken cancellationToken)
    {
        // QEMU 7.2 sends MIGRATION "completed" while the run state is still finish-migrate; a "cont" in that moment fails
        // with "Migration is not finalized yet" (seen on a loaded host). No event marks the switch to postmigrate, so
        // the command is retried, bounded.
        DateTime deadline = DateTime.UtcNow + s_finalizeTimeout;
        while (true)
        {
            try
            {
                await qmp.ExecuteAsync("cont", cancellationToken: cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (QmpCommandException ex) when (ex.Description.Contains("not finalized", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(s_finalizePoll, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Quotes for <c>/bin/sh</c>, which QEMU runs <c>exec:</c> URIs through.</summary>
    public static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Events on; <c>x-ignore-shared</c> as asked (both sides of a mapped state must agree on it).</summary>
    private static async Task SetCapabilitiesAsync(QmpClient qmp, bool ignoreShared, CancellationToken cancellationToken)
    {
        var capabilities = new List<Dictionary<string, object?>> { new() { ["capability"] = "events", ["state"] = true } };
        if (ignoreShared)
        {
            capabilities.Add(new() { ["capability"] = "x-ignore-shared", ["state"] = true });
        }

        await qmp.ExecuteAsync("migrate-set-capabilities", new Dictionary<string, object?> { ["capabilities"] = capabilities }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WaitFinishedAsync(QmpClient qmp, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        QmpEvent finished;
        try
        {
            finished = await qmp.WaitForAnyEventAsync(s_finished, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            // Stays a TimeoutException: a slow load on a busy host says nothing about the state, a failed one does.
            throw new TimeoutException($"Warm start: {what} did not finish within {timeout.TotalSeconds:0.#} s.", ex);
        }

        string? status = finished.Data.TryGetProperty("status", out JsonElement s) ? s.GetString() : null;
        if (status != "completed")
        {
            string detail = "";
            try
            {
                JsonElement info = await qmp.ExecuteAsync("query-migrate", cancellationToken: cancellationToken).ConfigureAwait(false);
                detail = info.TryGetProperty("error-desc", out JsonElement desc) ? ": " + desc.GetString() : "";
            }
            catch (QmpCommandException)
            {
            }

            throw new QemuMachineException($"Warm start: {what} ended with status '{status}'{detail}.");
        }
    }
}
