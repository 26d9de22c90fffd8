namespace QemuTestKit;

/// <summary>QEMU's option syntax separates key=value pairs with commas; a literal comma in a value is doubled.</summary>
internal static class QemuOptionValue
{
    public static string Escape(string value) => value.Replace(",", ",,", StringComparison.Ordinal);
}
