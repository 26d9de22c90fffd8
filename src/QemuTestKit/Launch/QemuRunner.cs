namespace QemuTestKit;

/// <summary>Where QEMU runs for a profile (<c>"runner"</c> in a profile file).</summary>
public enum QemuRunner
{
    /// <summary><c>local</c>: a process on this host (the default).</summary>
    Local,

    /// <summary>
    /// <c>container</c>: in a container (QemuTestKit.Containers); the host needs no QEMU. KVM is not passed into
    /// containers, so <see cref="QemuAccelerator.Auto"/> means TCG there.
    /// </summary>
    Container,
}
