namespace QemuTestKit;

/// <summary>
/// The display device a profile gives the guest, for screendumps. QEMU always runs headless (<c>-display none</c>); a
/// device other than <see cref="None"/> gives the guest a framebuffer QMP's <c>screendump</c> can read.
/// </summary>
public enum QemuDisplay
{
    /// <summary>No display device (the default): <c>screendump</c> has nothing to read.</summary>
    None,

    /// <summary>A standard VGA card (<c>-device VGA</c>); <c>"vga"</c> in a profile file.</summary>
    Vga,

    /// <summary>A virtio GPU (<c>-device virtio-gpu-pci</c>); <c>"virtio-gpu"</c> in a profile file.</summary>
    VirtioGpu,
}
