using System.Text.Json;

namespace QemuTestKit;

// The fields for when a test fails: "gdb" (the stub) and "onFailure" (the evidence a failed test collects).
internal static partial class ProfileJsonReader
{
    /// <summary><c>"gdb": true</c> (the stub), <c>"halt"</c> (the stub, CPUs stopped until gdb continues), or <c>false</c>.</summary>
    private static QemuGdbStub ReadGdb(Context ctx, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => QemuGdbStub.On,
        JsonValueKind.False or JsonValueKind.Null => QemuGdbStub.Off,
        JsonValueKind.String => ctx.OneOf("gdb", value, "on", "halt", "off") switch
        {
            "on" => QemuGdbStub.On,
            "halt" => QemuGdbStub.Halt,
            _ => QemuGdbStub.Off,
        },
        _ => throw ctx.Error("gdb", $"must be true, false or \"halt\", got {Describe(value)}"),
    };

    /// <summary>
    /// <c>"onFailure": ["dump-guest-memory", "info registers", …]</c>: only HMP <c>info</c> commands besides the dump,
    /// because evidence must read the VM, never change it (a kept VM is looked at afterwards).
    /// </summary>
    private static IReadOnlyList<string> ReadOnFailure(Context ctx, JsonElement value)
    {
        IReadOnlyList<string> items = ctx.StringArray("onFailure", value);
        foreach (string item in items)
        {
            if (item != QemuProfile.DumpGuestMemory && !item.StartsWith("info ", StringComparison.Ordinal))
            {
                throw ctx.Error("onFailure", $"has '{item}': use \"{QemuProfile.DumpGuestMemory}\" or an HMP info command such as \"info registers\" or \"info mtree\"");
            }
        }

        return items;
    }
}
