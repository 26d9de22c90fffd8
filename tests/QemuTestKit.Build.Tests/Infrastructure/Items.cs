using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace QemuTestKit.Build.Tests.Infrastructure;

internal static class Items
{
    public static ITaskItem Of(string spec, params (string Name, string Value)[] metadata)
    {
        var item = new TaskItem(spec);
        foreach ((string name, string value) in metadata)
        {
            item.SetMetadata(name, value);
        }

        return item;
    }
}
