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

    public const string SchemaVersion = "1";
}
