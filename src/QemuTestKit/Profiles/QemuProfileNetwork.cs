namespace QemuTestKit;

/// <summary>
/// A user-mode NIC for the guest: <c>-netdev user,id=net0,restrict=on</c> plus <c>-device &lt;Model&gt;,netdev=net0</c>.
/// <c>restrict=on</c> is not optional here: the guest reaches nothing outside the VM (not the host, not the internet),
/// and the test reaches the guest only through ports it forwards on 127.0.0.1 (<c>hostfwd_add net0 …</c>). A profile
/// that really needs more writes its own <c>-netdev</c> in <see cref="QemuProfile.Args"/>.
/// </summary>
/// <remarks>In <c>qemu-profiles.json</c>: <c>"network": "user"</c>, or <c>"network": { "model": "e1000" }</c>.</remarks>
public sealed record QemuProfileNetwork
{
    /// <summary>The netdev id every profile NIC has: what <c>hostfwd_add</c> names.</summary>
    public const string NetdevId = "net0";

    /// <summary>The default NIC device: virtio-net on PCI, which x86_64 and aarch64 (<c>virt</c>) machines both have.</summary>
    public const string DefaultModel = "virtio-net-pci";

    /// <summary>The NIC device QEMU emulates (<c>virtio-net-pci</c>, <c>e1000</c>, …).</summary>
    public string Model { get; init; } = DefaultModel;
}
