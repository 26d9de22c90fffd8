using QemuTestKit.Internal;
using QemuTestKit.Qmp;
using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

// Recover and go on (QemuMachineAttribute.Restart): a VM that crashed, or whose test failed, is replaced before the
// class's next test, through the same boot path as the first one.
public sealed partial class QemuVm
{
    // How long a VM whose test failed gets to answer query-status before it counts as hung. Generous on purpose: a
    // loaded TCG host answers in milliseconds, so only a QEMU that is stopped or wedged takes this long.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(30);

    private string? _replaceReason;
    private bool _replaceHung;
    private int _vmNumber = 1;

    /// <summary>Which VM of the class this is: 1 for the first, 2 for its first replacement (<see cref="QemuMachineAttribute.Restart"/>), …</summary>
    public int VmNumber => _vmNumber;

    /// <summary>The sentence a VM's death adds to the failure when the class replaces its VM; records why for the next test.</summary>
    private string RestartNote(string what)
    {
        if (_attribute is not { Restart: not VmRestart.Never } attribute)
        {
            return "";
        }

        _replaceReason = VmBootLog.FirstLine(what);
        return $"\nThe class's next test runs on a new VM (Restart = {attribute.Restart}).";
    }

    /// <summary>After a failed test whose VM still runs: schedules a replacement when the policy asks for one.</summary>
    private async Task AfterFailedTestAsync(IXunitTest test)
    {
        if (_attribute is not { Restart: not VmRestart.Never } attribute || _machine is null)
        {
            return;
        }

        if (attribute.Restart == VmRestart.AfterFailure)
        {
            _replaceReason = $"test '{test.TestDisplayName}' failed (Restart = AfterFailure)";
            return;
        }

        // AfterCrash: a VM that no longer answers QMP is as dead as one that exited, only quieter.
        if (await WhyNotAnsweringAsync().ConfigureAwait(false) is { } why)
        {
            _replaceReason = $"QEMU stopped answering QMP after test '{test.TestDisplayName}' failed ({why})";
            _replaceHung = true;
            Progress(_replaceReason);
        }
    }

    /// <summary>Null when QEMU answers <c>query-status</c> within <see cref="AnswerBound"/>; else what went wrong.</summary>
    private async Task<string?> WhyNotAnsweringAsync()
    {
        using var bound = new CancellationTokenSource(AnswerBound);
        try
        {
            await _machine!.Qmp.ExecuteAsync("query-status", cancellationToken: bound.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException)
        {
            return $"no reply within {Seconds(AnswerBound)}";
        }
        catch (Exception ex) when (ex is TimeoutException or QmpConnectionException or QmpCommandException or QemuMachineException or ObjectDisposedException)
        {
            return VmBootLog.FirstLine(ex.Message);
        }
    }

    /// <summary>Replaces the VM before a test when a crash or failure asked for it; the test's output says so and why.</summary>
    private async Task ReplaceIfDueAsync()
    {
        if (_replaceReason is not { } reason)
        {
            return;
        }

        _replaceReason = null;
        string previousArtifacts = ArtifactsDirectory;
        await RetireAsync(kill: _replaceHung).ConfigureAwait(false);
        _replaceHung = false;

        _vmNumber++;
        _machine = null;
        _transcript = null;
        _guest = null;
        _death = null;
        _bootFailure = null;
        _bootException = null;
        _log = new VmBootLog(_className);
        Progress($"replacing the VM (#{_vmNumber}, Restart = {_attribute!.Restart}): {reason}");
        await StartVmAsync(ReplacementArtifacts(ArtifactsLocation.ForClass(_className), _vmNumber), TestContext.Current.CancellationToken).ConfigureAwait(false);
        TestContext.Current.TestOutputHelper?.WriteLine(PrintableText.Of(
            $"QemuTestKit: this test runs on a new VM (#{_vmNumber} of {_className}, Restart = {_attribute.Restart}) because {reason}. "
            + $"The previous VM's artifacts are in {previousArtifacts}."));
    }

    /// <summary>The artifacts folder of the class's <paramref name="number"/>th VM: the class's folder, then <c>-vm2</c>, <c>-vm3</c>, ….</summary>
    internal static string ReplacementArtifacts(string classDirectory, int number) =>
        number <= 1 ? classDirectory : classDirectory + "-vm" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Ends the current VM before its replacement boots: kept when the keep setting asks, else shut down (killed if hung).</summary>
    private async Task RetireAsync(bool kill)
    {
        QemuMachine? machine = _machine;
        try
        {
            if (machine is not null && _bootFailure is null)
            {
                // As at the end of the class: the slot is free the moment QEMU exits, before the cleanup below.
                _lease?.ReleaseWhen(machine.WhenExitedAsync());
                if (machine.IsRunning && kill)
                {
                    await machine.KillAsync().ConfigureAwait(false);
                }
                else if (await TryKeepAsync().ConfigureAwait(false))
                {
                    return;
                }
                else if (await ShutdownAsync(machine, _profile!).ConfigureAwait(false) is { } failure)
                {
                    Progress(VmBootLog.FirstLine(failure.Message));
                }
            }
        }
        catch (Exception ex) when (ex is QemuMachineException or TimeoutException)
        {
            Progress($"cleanup of the replaced VM: {VmBootLog.FirstLine(ex.Message)}");
        }
        finally
        {
            if (machine is not null)
            {
                WriteArtifacts();
                try
                {
                    await machine.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is QemuMachineException or TimeoutException)
                {
                    Progress($"cleanup of the replaced VM: {VmBootLog.FirstLine(ex.Message)}");
                }
            }

            DropKeptDirectory();
            _lease?.Release();
            _lease = null;
        }
    }
}
