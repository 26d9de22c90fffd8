namespace QemuTestKit.Internal;

/// <summary>What <c>qemu-system-* --version</c> said.</summary>
/// <param name="Path">The binary's full path.</param>
/// <param name="Version">The version number, e.g. <c>7.2.22</c>.</param>
/// <param name="Text">Everything it printed, trimmed, with <c>\n</c> line ends (it names the distribution's build too).</param>
internal sealed record QemuVersion(string Path, string Version, string Text);
