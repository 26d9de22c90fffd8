namespace QemuTestKit.Qga;

/// <summary>What <see cref="QgaClient.ShutdownAsync"/> asks the guest to do (<c>guest-shutdown</c>'s <c>mode</c>).</summary>
public enum QgaShutdownMode
{
    /// <summary>Power the machine off (<c>powerdown</c>).</summary>
    PowerDown,

    /// <summary>Halt without powering off (<c>halt</c>).</summary>
    Halt,

    /// <summary>Reboot (<c>reboot</c>).</summary>
    Reboot,
}
