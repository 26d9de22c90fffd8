using System.Globalization;

namespace QemuTestKit.Containers;

/// <summary>
/// The main process of a streams container: a busybox <c>sh</c> script that is QEMU's parent. It relays QMP between
/// the container's stdio (the attach stream the owner holds) and the unix socket QEMU connects to, and kills QEMU when
/// that stream ends (the owner died or went away) or the container's expiry passes, so a dead owner leaves nothing
/// running. It needs <c>sh</c>, <c>socat</c> and <c>date</c> in the image (build/docker/build-qemu-image.sh adds them).
/// </summary>
internal static class ContainerSupervisor
{
    /// <summary>Where the supervisor writes QEMU's PID inside the container (for a signal aimed at QEMU itself).</summary>
    public const string PidFile = "/tmp/.qemutestkit-qemu.pid";

    /// <summary>The line the owner sends once it is attached: nothing runs before it.</summary>
    public const string Go = "go\n";

    /// <summary>The supervisor's exit status when the owner's stream ended before QEMU started.</summary>
    public const int OwnerGoneBeforeStart = 70;

    /// <summary>The supervisor's exit status when the QMP relay could not listen.</summary>
    public const int RelayFailed = 71;

    private const string MonitorVariable = "QTK_MONITOR";
    private const string ExpiresVariable = "QTK_EXPIRES";

    // Why each step: `read` takes exactly the go line (ash reads a pipe byte by byte), so QMP bytes after it stay on
    // stdin for socat. Background jobs get /dev/null as stdin unless told otherwise, hence fd 3. QEMU's stdout and
    // stderr go to the container's stderr (the owner's log); the container's stdout is QMP alone. Trapped signals are
    // passed on to QEMU; the watcher polls once a second (the bound on how long QEMU outlives its owner's stream).
    private const string Script = """
        read -r go || exit 70
        exec 3<&0
        if [ -n "$QTK_MONITOR" ]; then
          mkdir -p "${QTK_MONITOR%/*}"
          socat -t 5 "UNIX-LISTEN:$QTK_MONITOR,unlink-early" STDIO <&3 3<&- &
          relay=$!
          while [ ! -S "$QTK_MONITOR" ]; do
            kill -0 "$relay" 2>/dev/null || exit 71
            sleep 0.02
          done
        else
          cat <&3 >/dev/null 3<&- &
          relay=$!
        fi
        exec 3<&-
        "$@" </dev/null >&2 &
        qemu=$!
        echo "$qemu" > /tmp/.qemutestkit-qemu.pid
        for s in TERM INT HUP QUIT USR1 USR2; do trap "kill -$s $qemu 2>/dev/null" "$s"; done
        (
          while kill -0 "$qemu" 2>/dev/null; do
            if ! kill -0 "$relay" 2>/dev/null; then
              echo "qemutestkit: the owner's stream ended; killing QEMU" >&2; kill -KILL "$qemu"; break
            fi
            if [ "$(date +%s)" -ge "$QTK_EXPIRES" ]; then
              echo "qemutestkit: the container expired; killing QEMU" >&2; kill -KILL "$qemu"; break
            fi
            sleep 1
          done
        ) &
        wait "$qemu"
        status=$?
        while kill -0 "$qemu" 2>/dev/null; do wait "$qemu"; status=$?; done
        kill "$relay" 2>/dev/null
        exit $status
        """;

    /// <summary>The container's entrypoint; QEMU's command line follows as the command (<c>$@</c>).</summary>
    public static IReadOnlyList<string> Entrypoint { get; } = ["/bin/sh", "-c", Script, "qemutestkit-supervisor"];

    /// <summary>The supervisor's environment: where QEMU connects for QMP (none: empty) and when the container expires.</summary>
    public static IReadOnlyList<string> Environment(string? monitorPath, DateTimeOffset expires) =>
    [
        $"{MonitorVariable}={monitorPath}",
        $"{ExpiresVariable}={expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}",
    ];

    /// <summary>
    /// The command an exec session runs to join a unix socket QEMU serves at <paramref name="socketPath"/> (the console,
    /// the guest agent), retrying while QEMU creates it.
    /// </summary>
    public static IReadOnlyList<string> SocketRelay(string socketPath) =>
        ["socat", "-t", "5", "STDIO", $"UNIX-CONNECT:{socketPath},retry=1200,interval=0.05"];
}
