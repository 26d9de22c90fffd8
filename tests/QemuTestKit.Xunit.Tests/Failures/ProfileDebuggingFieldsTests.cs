using System.Text.Json;

namespace QemuTestKit.Xunit.Tests;

/// <summary>The profile fields for when a test fails: <c>"gdb"</c> and <c>"onFailure"</c>.</summary>
public sealed class ProfileDebuggingFieldsTests
{
    [Theory]
    [InlineData("true", QemuGdbStub.On)]
    [InlineData("\"halt\"", QemuGdbStub.Halt)]
    [InlineData("false", QemuGdbStub.Off)]
    public void Gdb_reads_true_halt_and_false(string json, QemuGdbStub expected)
    {
        QemuProfile profile = Read($$"""{ "gdb": {{json}} }""");

        Assert.Equal(expected, profile.Gdb);
    }

    [Fact]
    public void OnFailure_reads_the_dump_and_info_commands()
    {
        QemuProfile profile = Read("""{ "onFailure": ["dump-guest-memory", "info registers"] }""");

        Assert.Equal(["dump-guest-memory", "info registers"], profile.OnFailure);
    }

    [Fact]
    public void OnFailure_refuses_a_command_that_changes_the_vm()
    {
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => Read("""{ "onFailure": ["system_reset"] }"""));

        Assert.Equal("onFailure", ex.Field);
        Assert.Contains("'system_reset'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gdb_refuses_other_words()
    {
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => Read("""{ "gdb": "wait" }"""));

        Assert.Equal("gdb", ex.Field);
    }

    private static QemuProfile Read(string json)
    {
        using var document = JsonDocument.Parse(json);
        return ProfileJsonReader.Read("p", document.RootElement, "/tmp/qemu-profiles.json");
    }
}
