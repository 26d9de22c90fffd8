using System.Globalization;
using System.Text.Json;
using QemuTestKit.Internal;
using QemuTestKit.Qmp;
using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

// Evidence on failure (profile "onFailure"): what a failed test collects from its still-running VM before anything
// else happens to it — a guest memory dump (ELF core) and the output of HMP info commands.
public sealed partial class QemuVm
{
    // A dump writes the guest's whole RAM: seconds for a test guest, longer on a loaded host; bounded all the same.
    private static readonly TimeSpan EvidenceBound = TimeSpan.FromMinutes(5);

    /// <summary>Collects the profile's <c>onFailure</c> evidence for a failed test; a step that fails is reported, not thrown.</summary>
    private async Task CollectEvidenceAsync(IXunitTest test)
    {
        if (_profile?.OnFailure is not { Count: > 0 } items || _machine is not { IsRunning: true } machine || _artifacts is null)
        {
            return;
        }

        string method = test.TestCase.TestMethod?.Method.Name ?? test.TestDisplayName;
        string prefix = VmFailureReport.AttachmentPrefix(_className, method);
        using var bound = new CancellationTokenSource(EvidenceBound);
        foreach (string item in items)
        {
            try
            {
                if (item == QemuProfile.DumpGuestMemory)
                {
                    // paging=false: the guest's physical memory as an ELF core, readable by gdb and crash without the guest's page tables.
                    string path = Path.Combine(_artifacts.Directory, ArtifactsLocation.SafeName(_className + "." + method) + ".memory.elf");
                    await machine.Qmp.ExecuteAsync(QemuProfile.DumpGuestMemory, new { paging = false, protocol = "file:" + path, format = "elf" }, bound.Token).ConfigureAwait(false);
                    string size = new FileInfo(path).Length.ToString("N0", CultureInfo.InvariantCulture);
                    string note = $"guest memory dump (ELF core, {size} bytes, paging=false): {path}";
                    TestContext.Current.AddAttachment(prefix + "memory-dump", note, replaceExistingValue: true);
                    TestContext.Current.TestOutputHelper?.WriteLine("QemuTestKit: " + note);
                    Progress(note);
                }
                else
                {
                    JsonElement reply = await machine.Qmp.ExecuteAsync("human-monitor-command", new { command_line = item }, bound.Token).ConfigureAwait(false);
                    string text = reply.GetString() ?? "";
                    string name = ArtifactsLocation.SafeName(item.Replace(' ', '-'));
                    _artifacts.Write(ArtifactsLocation.SafeName(_className + "." + method) + "." + name + ".txt", text);
                    TestContext.Current.AddAttachment(prefix + name, PrintableText.Of(text.Length > 0 ? text : "(no output)"), replaceExistingValue: true);
                }
            }
            catch (Exception ex) when (ex is QmpCommandException or QmpConnectionException or TimeoutException or OperationCanceledException or QemuMachineException or IOException)
            {
                Progress($"onFailure '{item}' failed: {VmBootLog.FirstLine(ex.Message)}");
                TestContext.Current.TestOutputHelper?.WriteLine($"QemuTestKit: onFailure '{item}' failed: {ex.Message}");
            }
        }
    }
}
