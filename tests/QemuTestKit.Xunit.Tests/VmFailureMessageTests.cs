using System.Xml;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The xunit package's own failure exception carries printable text, like the core's exceptions.</summary>
public sealed class VmFailureMessageTests
{
    private const string Raw = "ready\u001b[6n\u0007\u0001\u0000 next\rline\u009b\ud800";

    [Fact]
    public void QemuVmFailureException_messages_are_valid_xml_and_show_control_characters_as_escapes()
    {
        foreach (Exception ex in new Exception[] { new QemuVmFailureException(Raw), new QemuVmFailureException(Raw, null) })
        {
            XmlConvert.VerifyXmlChars(ex.Message);
            Assert.Contains(@"\x1b[6n\x07\x01\x00", ex.Message, StringComparison.Ordinal);
        }
    }
}
