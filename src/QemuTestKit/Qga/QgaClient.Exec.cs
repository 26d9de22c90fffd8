using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QemuTestKit.Qga;

// Running a program in the guest: guest-exec starts it, guest-exec-status is polled until it exits.
public sealed partial class QgaClient
{
    /// <summary>The first status poll comes this soon (short commands finish in milliseconds); the wait doubles up to <see cref="MaxExecPoll"/>.</summary>
    private static readonly TimeSpan FirstExecPoll = TimeSpan.FromMilliseconds(1);

    /// <summary>Caps the poll interval: each poll is a round trip the guest's CPU pays for, but a finished process should not wait long.</summary>
    private static readonly TimeSpan MaxExecPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Runs the program <paramref name="path"/> in the guest (no shell: use <c>/bin/sh</c> with <c>-c</c> for one)
    /// and waits for it to exit, returning its exit code, standard output and standard error.
    /// </summary>
    /// <param name="path">The program, e.g. <c>/bin/uname</c>; a bare name is searched on the agent's <c>PATH</c>.</param>
    /// <param name="arguments">Its arguments (not including the program name).</param>
    /// <param name="standardInput">Bytes fed to its standard input; <see langword="null"/> for none.</param>
    /// <param name="environment">Its environment, which <em>replaces</em> the agent's; <see langword="null"/> inherits the agent's.</param>
    /// <param name="timeout">How long to wait for it to exit; <see langword="null"/> means <see cref="QgaClientOptions.ExecTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting; the process keeps running in the guest.</param>
    /// <exception cref="QgaCommandException">The agent could not start it (no such file, not executable) or failed a status query.</exception>
    /// <exception cref="QgaConnectionException">The channel ended.</exception>
    /// <exception cref="TimeoutException">It did not exit within <paramref name="timeout"/> (it keeps running: the agent cannot kill it), or a command got no reply within <see cref="QgaClientOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<QgaExecResult> ExecAsync(
        string path,
        IEnumerable<string>? arguments = null,
        byte[]? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TimeSpan bound = timeout ?? _options.ExecTimeout;
        DateTime deadline = DateTime.UtcNow + bound;
        var start = new JsonObject { ["path"] = path, ["capture-output"] = true };
        if (arguments is not null)
        {
            start["arg"] = new JsonArray([.. arguments.Select(a => JsonValue.Create(a))]);
        }

        if (environment is not null)
        {
            start["env"] = new JsonArray([.. environment.Select(e => JsonValue.Create(e.Key + "=" + e.Value))]);
        }

        if (standardInput is not null)
        {
            start["input-data"] = Convert.ToBase64String(standardInput);
        }

        JsonElement started = await ExecuteAsync("guest-exec", start, cancellationToken).ConfigureAwait(false);
        long pid = started.GetProperty("pid").GetInt64();
        var status = new JsonObject { ["pid"] = pid };
        TimeSpan poll = FirstExecPoll;
        while (true)
        {
            JsonElement state = await ExecuteAsync("guest-exec-status", status, cancellationToken).ConfigureAwait(false);
            if (state.TryGetProperty("exited", out JsonElement exited) && exited.ValueKind == JsonValueKind.True)
            {
                return ToResult(pid, state);
            }

            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"Guest agent {_name}: '{path}' (guest pid {pid.ToString(CultureInfo.InvariantCulture)}) did not exit within {bound}; it is still running in the guest (the agent cannot kill it). {TailText()}");
            }

            await Task.Delay(poll < left ? poll : left, cancellationToken).ConfigureAwait(false);
            poll = poll * 2 < MaxExecPoll ? poll * 2 : MaxExecPoll;
        }
    }

    private static QgaExecResult ToResult(long pid, JsonElement state)
    {
        int? signal = state.TryGetProperty("signal", out JsonElement s) && s.TryGetInt32(out int n) ? n : null;
        int exitCode = state.TryGetProperty("exitcode", out JsonElement code) && code.TryGetInt32(out int c) ? c : 128 + (signal ?? 0);
        bool truncated = IsTrue(state, "out-truncated") || IsTrue(state, "err-truncated");
        return new QgaExecResult(pid, exitCode, signal, Bytes(state, "out-data"), Bytes(state, "err-data"), truncated);

        static bool IsTrue(JsonElement state, string name) => state.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.True;

        static byte[] Bytes(JsonElement state, string name) =>
            state.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetBytesFromBase64() : [];
    }
}
