namespace QemuTestKit.Qmp;

/// <summary>QEMU's version as announced in the QMP greeting (<c>{"qemu": {"major", "minor", "micro"}, "package"}</c>).</summary>
/// <param name="Major">Major version, e.g. 7.</param>
/// <param name="Minor">Minor version, e.g. 2.</param>
/// <param name="Micro">Micro version, e.g. 22.</param>
/// <param name="Package">The distribution's package string, e.g. <c>Debian 1:7.2+dfsg-7</c>; empty when absent.</param>
public sealed record QmpVersion(int Major, int Minor, int Micro, string Package)
{
    /// <summary><c>major.minor.micro</c>.</summary>
    public override string ToString() => $"{Major}.{Minor}.{Micro}";
}
