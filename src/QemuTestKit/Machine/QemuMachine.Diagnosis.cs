using System.Globalization;
using System.Text;

namespace QemuTestKit;

// Why QEMU does not answer: its process state from /proc, for timeout messages of QMP and (wired by the integrator) the console.
public sealed partial class QemuMachine
{
    private const int StallConsoleLines = 10;

    /// <summary>
    /// What is odd about QEMU's process right now, e.g. <c>QEMU (pid 123) is stopped (T): …</c> or a zombie;
    /// <see langword="null"/> when nothing is odd (running or sleeping), when it is not launched, or when it runs
    /// elsewhere (a container). For timeout messages: a stopped QEMU answers nothing until SIGCONT.
    /// </summary>
    internal string? DescribeProcessState()
    {
        if (_process is not { HasExited: false, Pid: { } pid } || ProcessStat.Read(pid) is not { } stat)
        {
            return null;
        }

        if (stat.IsStopped)
        {
            return $"QEMU (pid {pid}) is {stat.StateText}: it runs nothing, so it answers nothing, until it gets SIGCONT "
                + "(a debugger, a shell's job control or a test stopped it).";
        }

        return stat.IsDead ? $"QEMU (pid {pid}) is {stat.StateText}: it has exited." : null;
    }

    /// <summary>The <see cref="Qmp.QmpClientOptions.StallDiagnosis"/> of this machine's client: the process state and the console tail.</summary>
    private string? DiagnoseStall()
    {
        var text = new StringBuilder();
        if (DescribeProcessState() is { } odd)
        {
            text.Append(odd);
        }
        else if (_process is { HasExited: false, Pid: { } pid } && ProcessStat.Read(pid) is { } stat)
        {
            text.Append(CultureInfo.InvariantCulture, $"QEMU (pid {pid}) is {stat.StateText}.");
        }

        if (_console is { } console)
        {
            text.Append(text.Length > 0 ? "\n" : "").Append("Last console lines:\n").Append(console.Tail(StallConsoleLines));
        }

        return text.Length > 0 ? text.ToString() : null;
    }
}
