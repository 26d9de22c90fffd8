using System.Globalization;
using QemuTestKit.Sdk;

namespace QemuTestKit.Containers;

/// <summary>The labels on every container the kit starts: who owns it, so leftovers can be found and judged.</summary>
internal static class ContainerLabels
{
    /// <summary>Present on every kit container; its value is the kit's label schema version.</summary>
    public const string Kit = "qemutestkit";

    /// <summary>One id per test process: <c>docker ps --filter label=qemutestkit.session=…</c> lists a run's VMs.</summary>
    public const string Session = "qemutestkit.session";

    /// <summary><c>&lt;host id&gt;/&lt;pid&gt;/&lt;process start ticks&gt;</c> of the process that started the container.</summary>
    public const string Owner = "qemutestkit.owner";

    /// <summary>The machine's name (<c>QemuMachine.Name</c>), for people reading <c>docker ps</c>.</summary>
    public const string Machine = "qemutestkit.machine";

    /// <summary>
    /// When the container may be removed by anyone, as Unix seconds: any kit process on the engine removes it after
    /// that, whatever host its owner is on, and the supervisor kills QEMU at that time itself.
    /// </summary>
    public const string Expires = "qemutestkit.expires";

    /// <summary>Present when QEMU runs under the supervisor (streams transport), so a signal for QEMU goes to its PID.</summary>
    public const string Supervised = "qemutestkit.supervised";

    public const string SchemaVersion = "1";

    /// <summary>The kit's labels for a container that runs <paramref name="spec"/>'s QEMU for this process.</summary>
    public static IEnumerable<KeyValuePair<string, string>> For(QemuLaunchSpec spec, DateTimeOffset expires, bool supervised)
    {
        yield return new(Kit, SchemaVersion);
        yield return new(Session, OwnerProcess.SessionId);
        yield return new(Owner, OwnerProcess.Current);
        yield return new(Machine, Path.GetFileNameWithoutExtension(spec.LogPath));
        yield return new(Expires, expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        if (supervised)
        {
            yield return new(Supervised, "1");
        }
    }
}
