using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using QemuTestKit.Qmp;

namespace QemuTestKit;

// QMP on the machine: QEMU's Python QEMUMachine's qmp/command/get_qmp_event(s)/event_wait/events_wait/send_fd_scm.
public sealed partial class QemuMachine
{
    private static readonly TimeSpan DefaultEventTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The QMP connection.</summary>
    /// <exception cref="QemuMachineException">There is no connection (not launched, QMP disabled, or shut down).</exception>
    public QmpClient Qmp => _qmp ?? throw new QemuMachineException($"Attempt to access QMP with no connection (VM {Name} {(_launched ? "has QMP disabled" : "is not launched")}).");

    /// <summary>
    /// Runs a QMP command and returns the whole response, <c>{"return": …}</c> or <c>{"error": …}</c> (QEMUMachine's <c>qmp</c>).
    /// Top-level keys of dictionary or anonymous-object <paramref name="args"/> have <c>_</c> turned into <c>-</c> unless
    /// <paramref name="convertKeys"/> is false; JSON arguments are sent verbatim.
    /// </summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    public async Task<JsonElement> QmpAsync(string cmd, object? args = null, bool? convertKeys = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(cmd);
        JsonElement response = await Qmp.ExecuteRawAsync(cmd, Arguments(args, convertKeys ?? true), cancellationToken).ConfigureAwait(false);
        if (cmd == "quit" && response.ValueKind == JsonValueKind.Object && !response.TryGetProperty("error", out _) && response.TryGetProperty("return", out _))
        {
            _quitIssued = true;
        }

        return response;
    }

    /// <summary>Runs a QMP command and returns its <c>"return"</c> value (QEMUMachine's <c>command</c>); keys converted as in <see cref="QmpAsync"/>.</summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    /// <exception cref="QmpCommandException">QEMU answered with an error.</exception>
    /// <exception cref="QmpConnectionException">The connection ended before the reply.</exception>
    public async Task<JsonElement> CommandAsync(string cmd, object? args = null, bool convertKeys = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(cmd);
        JsonElement result = await Qmp.ExecuteAsync(cmd, Arguments(args, convertKeys), cancellationToken).ConfigureAwait(false);
        if (cmd == "quit")
        {
            _quitIssued = true;
        }

        return result;
    }

    /// <summary>Removes and returns the oldest queued event, or <see langword="null"/> (QEMUMachine's <c>get_qmp_event()</c>).</summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    public QmpEvent? GetQmpEvent() => Qmp.TryDequeueEvent(out QmpEvent? ev) ? ev : null;

    /// <summary>Removes and returns the oldest queued event, waiting for one (QEMUMachine's <c>get_qmp_event(wait=True)</c>).</summary>
    /// <exception cref="TimeoutException">No event within <paramref name="timeout"/> (null: wait until cancelled).</exception>
    public Task<QmpEvent> GetQmpEventAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Qmp.DequeueEventAsync(timeout, cancellationToken);

    /// <summary>Removes and returns every queued event, oldest first (QEMUMachine's <c>get_qmp_events()</c>).</summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    public IReadOnlyList<QmpEvent> GetQmpEvents() => Qmp.DequeueAllEvents();

    /// <summary>Waits for at least one event, then returns all queued ones (QEMUMachine's <c>get_qmp_events(wait=True)</c>).</summary>
    /// <exception cref="TimeoutException">No event within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<QmpEvent>> GetQmpEventsAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        QmpEvent first = await Qmp.DequeueEventAsync(timeout, cancellationToken).ConfigureAwait(false);
        return [first, .. Qmp.DequeueAllEvents()];
    }

    /// <summary>Whether <paramref name="ev"/> contains <paramref name="match"/> as a recursive sub-dictionary (QEMUMachine's <c>event_match</c>).</summary>
    public static bool EventMatch(JsonElement ev, JsonElement? match) => QmpEventMatcher.Matches(ev, match);

    /// <summary>
    /// Waits for the event <paramref name="name"/> matching <paramref name="match"/> (against the whole event message, e.g.
    /// <c>new { data = new { reason = "guest-shutdown" } }</c>), searching queued events first (QEMUMachine's <c>event_wait</c>).
    /// With a zero <paramref name="timeout"/> only queued events are searched and <see langword="null"/> means none matched.
    /// </summary>
    /// <exception cref="TimeoutException">No matching event within <paramref name="timeout"/> (default 60 s).</exception>
    /// <exception cref="QmpConnectionException">The connection ended first.</exception>
    public Task<QmpEvent?> EventWaitAsync(string name, object? match = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        EventsWaitAsync([(name, match)], timeout, cancellationToken);

    /// <summary>Waits for the first event matching any of <paramref name="events"/>, queued events first (QEMUMachine's <c>events_wait</c>); see <see cref="EventWaitAsync"/>.</summary>
    /// <exception cref="TimeoutException">No matching event within <paramref name="timeout"/> (default 60 s).</exception>
    /// <exception cref="QmpConnectionException">The connection ended first.</exception>
    public async Task<QmpEvent?> EventsWaitAsync(IEnumerable<(string Name, object? Match)> events, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        TimeSpan limit = timeout ?? DefaultEventTimeout;
        try
        {
            return await Qmp.WaitForAnyEventAsync(events, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (limit == TimeSpan.Zero)
        {
            return null;
        }
    }

    /// <summary>Passes <paramref name="handle"/> to QEMU over SCM_RIGHTS (QEMUMachine's <c>send_fd_scm(fd=…)</c>); follow with <c>getfd</c> or <c>add-fd</c>.</summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    /// <exception cref="NotSupportedException">QMP is not on a unix socket.</exception>
    public Task SendFdScmAsync(SafeHandle handle, CancellationToken cancellationToken = default) => Qmp.SendFileDescriptorAsync(handle, cancellationToken);

    /// <summary>Passes the descriptor <paramref name="fd"/> (which stays open and owned by the caller) over SCM_RIGHTS.</summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    public async Task SendFdScmAsync(int fd, CancellationToken cancellationToken = default)
    {
        using var handle = new SafeFileHandle(fd, ownsHandle: false);
        await Qmp.SendFileDescriptorAsync(handle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens <paramref name="filePath"/> read-only and passes the new descriptor over SCM_RIGHTS (QEMUMachine's <c>send_fd_scm(file_path=…)</c>).</summary>
    /// <exception cref="QemuMachineException">No QMP connection.</exception>
    public async Task SendFdScmAsync(string filePath, CancellationToken cancellationToken = default)
    {
        using SafeFileHandle handle = File.OpenHandle(filePath, FileMode.Open, FileAccess.Read);
        await Qmp.SendFileDescriptorAsync(handle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The arguments as a JSON object with keys converted here (or not, as asked): JSON is what the client sends verbatim.</summary>
    private static JsonElement? Arguments(object? args, bool convertKeys)
    {
        if (args is null)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            QmpArgumentWriter.Write(writer, args, convertKeys);
        }

        using JsonDocument document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
