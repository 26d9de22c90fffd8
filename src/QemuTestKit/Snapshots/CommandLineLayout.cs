using System.Collections.Frozen;
using System.Text;

namespace QemuTestKit;

/// <summary>
/// Lays out a QEMU command line one argument per line, an option and its value on one line
/// (<c>-m 256</c>), so that a review diff shows exactly which option changed.
/// </summary>
internal static class CommandLineLayout
{
    // QEMU's options that take no value (qemu-options.hx without HAS_ARG). Every other option takes one;
    // an option not listed here pairs with the next argument unless that argument is itself an option,
    // so an option newer than this list still lays out sensibly.
    private static readonly FrozenSet<string> s_flags = new[]
    {
        "h", "help", "version", "nodefaults", "no-user-config", "nodefconfig", "S", "s", "snapshot",
        "nographic", "curses", "no-frame", "alt-grab", "ctrl-grab", "no-quit", "full-screen", "portrait",
        "no-hpet", "no-acpi", "no-reboot", "no-shutdown", "daemonize", "enable-kvm", "xen-attach",
        "singlestep", "one-insn-per-tb", "preconfig", "only-migratable", "enable-fips", "semihosting",
        "win2k-hack", "no-fd-bootchk", "old-param", "usb", "enable-sync-profile", "mem-prealloc",
        "async-teardown", "perfmap", "jitdump", "no-graphic",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Returns the lines: the wrapper's arguments (everything before <paramref name="binaryIndex"/>) one
    /// per line as they are, the binary, then QEMU's options paired with their values.
    /// </summary>
    public static IReadOnlyList<string> Lines(IReadOnlyList<string> commandLine, int binaryIndex)
    {
        var lines = new List<string>(commandLine.Count);
        for (int i = 0; i <= binaryIndex && i < commandLine.Count; i++)
        {
            lines.Add(Escape(commandLine[i]));
        }

        for (int i = binaryIndex + 1; i < commandLine.Count; i++)
        {
            string arg = commandLine[i];
            bool takesValue = IsOption(arg)
                && !s_flags.Contains(arg.TrimStart('-'))
                && i + 1 < commandLine.Count
                && !IsOption(commandLine[i + 1]);
            if (takesValue)
            {
                lines.Add(Escape(arg) + " " + Escape(commandLine[++i]));
            }
            else
            {
                lines.Add(Escape(arg));
            }
        }

        return lines;
    }

    /// <summary>
    /// Where QEMU itself stands in a command line that may start with a wrapper (gdb, valgrind, setpriv):
    /// the known binary if given, else the first argument whose file name starts with <c>qemu-</c>, else 0.
    /// </summary>
    public static int FindBinary(IReadOnlyList<string> commandLine, string? binary)
    {
        for (int i = 0; i < commandLine.Count && binary is not null; i++)
        {
            if (string.Equals(commandLine[i], binary, StringComparison.Ordinal))
            {
                return i;
            }
        }

        for (int i = 0; i < commandLine.Count; i++)
        {
            if (Path.GetFileName(commandLine[i]).StartsWith("qemu-", StringComparison.Ordinal))
            {
                return i;
            }
        }

        return 0;
    }

    private static bool IsOption(string arg) => arg.Length > 1 && arg[0] == '-';

    // One argument per line only works if an argument cannot break a line or vanish.
    private static string Escape(string arg)
    {
        if (arg.Length == 0)
        {
            return "\"\"";
        }

        if (!arg.AsSpan().ContainsAny('\n', '\r'))
        {
            return arg;
        }

        var builder = new StringBuilder(arg.Length + 8);
        foreach (char c in arg)
        {
            builder.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\\' => "\\\\",
                _ => c.ToString(),
            });
        }

        return builder.ToString();
    }
}
