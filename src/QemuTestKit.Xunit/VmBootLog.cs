using System.Diagnostics;
using System.Globalization;
using System.Text;
using QemuTestKit.Internal;
using Xunit;

namespace QemuTestKit.Xunit;

/// <summary>
/// The class's VM progress: each step timed from the fixture's start, sent as a diagnostic message as it happens and
/// kept for the first test's output. Everything it emits is printable (<see cref="PrintableText"/>), so a step that
/// quotes QEMU or the guest cannot break a report.
/// </summary>
internal sealed class VmBootLog(string className)
{
    private readonly StringBuilder _lines = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _shown;

    /// <summary>Time since the fixture started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Records a step and sends it as a diagnostic message (shown with <c>--diagnostic</c> or live output).</summary>
    public void Progress(string message)
    {
        string printable = PrintableText.Of(message);
        string line = $"[{Seconds(_clock.Elapsed),7}] {printable}";
        lock (_lines)
        {
            _lines.AppendLine(line);
        }

        TestContext.Current.SendDiagnosticMessage(PrintableText.Of("QemuTestKit: " + className + ": ") + printable);
    }

    /// <summary>Writes the log so far to the current test's output, once per class: the first test shows how the VM started.</summary>
    public void ShowOnce()
    {
        if (_shown)
        {
            return;
        }

        _shown = true;
        lock (_lines)
        {
            TestContext.Current.TestOutputHelper?.Write("QemuTestKit boot log:\n" + _lines);
        }
    }

    /// <summary>A duration as messages show it: <c>2.31 s</c>.</summary>
    public static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    /// <summary>The first line of a (possibly multi-line) message, for one-line progress steps.</summary>
    public static string FirstLine(string text) => text.Split('\n', 2)[0];

    /// <summary>A profile in one line for the boot log: <c>x86_64, machine q35, 256M, 2 CPUs, kernel vmlinuz</c>.</summary>
    public static string Describe(QemuProfile profile)
    {
        var parts = new List<string> { profile.Arch };
        if (profile.Machine is not null)
        {
            parts.Add("machine " + profile.Machine);
        }

        if (profile.Memory is not null)
        {
            parts.Add(profile.Memory);
        }

        if (profile.Smp is int smp)
        {
            parts.Add(smp.ToString(CultureInfo.InvariantCulture) + " CPUs");
        }

        if (profile.Kernel is not null)
        {
            parts.Add("kernel " + Path.GetFileName(profile.Kernel));
        }

        parts.AddRange(profile.Drives.Select(d => "disk " + Path.GetFileName(d.Path)));
        return string.Join(", ", parts);
    }
}
