using QemuTestKit.Guest;

namespace QemuTestKit.Tests.GuestToolkit;

/// <summary>Reading QEMU 7.2's <c>info usernet</c> and the PNG CRC, without a VM.</summary>
public sealed class PortForwarderTests
{
    [Fact]
    public void Forwards_are_read_from_the_netdevs_own_section()
    {
        const string usernet =
            "Hub -1 (other):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n" +
            "  TCP[HOST_FORWARD]  12       127.0.0.1 40001       10.0.2.15  8080     0     0\r\n" +
            "Hub -1 (net0):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n" +
            "  TCP[HOST_FORWARD]  16       127.0.0.1 42607       10.0.2.15  8080     0     0\r\n" +
            "  TCP[ESTABLISHED]   17       127.0.0.1 42608       10.0.2.15  8080     0     0\r\n";

        PortForwarder.Forward[] forwards = [.. PortForwarder.Forwards(usernet, "net0")];

        Assert.Equal([new PortForwarder.Forward("127.0.0.1", 42607, 8080)], forwards);
    }

    [Fact]
    public void The_png_crc_is_the_standard_one()
    {
        Assert.Equal(0xAE426082u, PngImage.Crc32("IEND"u8));
        Assert.Equal(0xCBF43926u, PngImage.Crc32("123456789"u8));
    }
}
