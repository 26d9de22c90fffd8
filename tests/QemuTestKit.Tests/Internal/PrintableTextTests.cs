using System.Xml;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;

namespace QemuTestKit.Tests.Internal;

/// <summary>Text the kit puts into reports: printable in XML 1.0 and on a terminal, the evidence still readable.</summary>
public sealed class PrintableTextTests
{
    // What busybox ash and a colourful guest send: a cursor-position query, a bell, SOH, NUL, an OSC title, SGR colour.
    private const string Raw = "ready\u001b[6n\u0007\u0001\u0000 \u001b]0;title\u0007 \u001b[31mred\u001b[0m\r\nnext\rline\u009b\u007f";

    [Fact]
    public void Control_characters_are_shown_as_escapes_and_tab_and_newline_stay()
    {
        Assert.Equal(
            @"ready\x1b[6n\x07\x01\x00 \x1b]0;title\x07 \x1b[31mred\x1b[0m" + "\nnext\\rline\\x9b\\x7f",
            PrintableText.Of(Raw));
        Assert.Equal("a\tb\nc", PrintableText.Of("a\tb\nc"));
    }

    [Fact]
    public void Printable_text_is_returned_as_is_including_non_ascii_and_surrogate_pairs()
    {
        const string text = "Grüße, 日本語, 🙂 and \\x1b already escaped";

        Assert.Same(text, PrintableText.Of(text));
        Assert.True(PrintableText.IsPrintable(text));
        Assert.Equal("", PrintableText.Of(null));
    }

    [Fact]
    public void Unpaired_surrogates_and_non_characters_become_the_replacement_character()
    {
        Assert.Equal("a\uFFFDb\uFFFDc\uFFFD\uFFFD", PrintableText.Of("a\ud800b\udc00c\uFFFE\uFFFF"));
        Assert.Equal("\uFFFD", PrintableText.Of("\ud83d"));
    }

    [Fact]
    public void The_result_is_valid_xml_1_0()
    {
        Assert.Throws<XmlException>(() => XmlConvert.VerifyXmlChars(Raw));

        XmlConvert.VerifyXmlChars(PrintableText.Of(Raw + "\ud800\uFFFE"));
    }

    public static TheoryData<string, Func<string, Exception>> KitExceptions() => new()
    {
        { "QemuMachineException", m => new QemuMachineException(m) },
        { "QemuMachineException+inner", m => new QemuMachineException(m, new InvalidOperationException()) },
        { "AbnormalShutdownException", m => new AbnormalShutdownException(m) },
        { "QemuLaunchException", m => new QemuLaunchException(m) },
        { "QemuLaunchException+evidence", m => new QemuLaunchException("QEMU exited", 1, ["qemu-system-x86_64", "-kernel", "k"], m) },
        { "QemuConsoleException", m => new QemuConsoleException(m) },
        { "QemuConsoleException+tail", m => new QemuConsoleException("failure pattern", m) },
        { "QmpConnectionException", m => new QmpConnectionException(m) },
        { "QmpConnectionException+inner", m => new QmpConnectionException(m, null) },
        { "QmpCommandException", m => new QmpCommandException(m) },
        { "QmpCommandException+reply", m => new QmpCommandException("human-monitor-command", "GenericError", m, default) },
        { "QemuProfileException", m => new QemuProfileException(m) },
        { "QemuProfileException+field", m => new QemuProfileException(m, "tiny", "append", "qemu-profiles.json") },
    };

    [Theory]
    [MemberData(nameof(KitExceptions))]
    public void Kit_exceptions_carry_printable_messages(string name, Func<string, Exception> create)
    {
        Exception ex = create(Raw);

        Assert.True(PrintableText.IsPrintable(ex.Message), $"{name}: {ex.Message}");
        Assert.Contains(@"\x1b[6n\x07\x01", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_evidence_properties_keep_the_raw_text()
    {
        Assert.Equal(Raw, new QemuConsoleException("failure pattern", Raw).ConsoleTail);
        Assert.Equal(Raw, new QemuLaunchException("QEMU exited", 1, ["qemu"], Raw).Output);
    }
}
