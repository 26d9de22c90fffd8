namespace QemuTestKit;

// Sockets QEMU serves for people and other processes (a served QMP monitor, the gdb stub), and detaching a running QEMU
// so that it outlives this object and this process (a kept VM).
public sealed partial class QemuMachine
{
    private string? _servedQmpPath;
    private string? _gdbSocketPath;

    /// <summary>
    /// The gdb stub's unix socket while QEMU runs with <see cref="QemuMachineOptions.GdbStub"/> on (connect with
    /// <c>gdb -ex 'target remote &lt;path&gt;'</c>); <see langword="null"/> otherwise.
    /// </summary>
    public string? GdbSocketPath => _launched ? _gdbSocketPath : null;

    /// <summary>
    /// The QMP monitor QEMU serves for another process while a <see cref="QemuMachineOptions.Detachable"/> machine runs
    /// (one client at a time; send <c>qmp_capabilities</c> first); <see langword="null"/> otherwise.
    /// </summary>
    public string? ServedQmpPath => _launched ? _servedQmpPath : null;

    /// <summary>Whether QEMU was started with its CPUs stopped for a debugger (<see cref="QemuGdbStub.Halt"/>).</summary>
    public bool HaltedForDebugger => _gdbStub == QemuGdbStub.Halt;

    /// <summary>
    /// Leaves QEMU running on its own: closes this object's QMP and console connections, removes the orphan guard on
    /// purpose (QEMU then outlives this process), and forgets the process, so a later <see cref="ShutdownAsync"/> or
    /// dispose does nothing to it. QEMU keeps serving its console, a QMP monitor and the gdb stub (if on) in
    /// <see cref="SockDir"/>, which the machine no longer removes. Stopping it is then the caller's job: kill
    /// <see cref="QemuDetachedMachine.Pid"/> and remove the socket folder.
    /// </summary>
    /// <returns>The process id and the sockets to reach it by.</returns>
    /// <exception cref="QemuMachineException">QEMU is not running, or the machine was not made detachable
    /// (<see cref="QemuMachineOptions.Detachable"/>, a local launcher and a configured <see cref="QemuMachineOptions.SockDir"/>).</exception>
    public async Task<QemuDetachedMachine> DetachAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_launched || _process is not { HasExited: false } process)
            {
                throw new QemuMachineException($"VM {Name} is not running: there is nothing to detach.");
            }

            if (!_detachable || process is not LocalQemuProcess local || !_dirs.SockDirConfigured || _servedQmpPath is null)
            {
                throw new QemuMachineException(
                    $"VM {Name} cannot be detached: set QemuMachineOptions.Detachable and SockDir (a folder the kit does not remove), "
                    + "use the local launcher, and keep QMP on.");
            }

            // Ours end here; QEMU's stay: its served sockets accept the next client.
            await CloseQmpConnectionAsync().ConfigureAwait(false);
            if (_listener is not null)
            {
                await _listener.DisposeAsync().ConfigureAwait(false);
                _listener = null;
            }

            if (_console is not null)
            {
                await _console.DisposeAsync().ConfigureAwait(false);
                _console = null;
            }

            if (!local.Detach())
            {
                throw new QemuMachineException($"VM {Name} exited while it was being detached.");
            }

            var detached = new QemuDetachedMachine(local.Pid!.Value, SockDir, LaunchSpec?.ConsolePath, _servedQmpPath, _gdbSocketPath);
            _removeFiles.Clear();
            _process = null;
            _launched = false;
            return detached;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>The sockets QEMU serves for others, decided with the machine's other socket paths at launch.</summary>
    private MachineCommandLine.ServedSockets ServedSockets()
    {
        _servedQmpPath = _detachable && _qmpSet ? _dirs.SocketPath("qmp") : null;
        _gdbSocketPath = _gdbStub == QemuGdbStub.Off ? null : _dirs.SocketPath("gdb");
        foreach (string? path in (string?[])[_servedQmpPath, _gdbSocketPath])
        {
            if (path is not null)
            {
                _removeFiles.Add(path);
            }
        }

        return new MachineCommandLine.ServedSockets(_servedQmpPath, _gdbSocketPath, _gdbStub == QemuGdbStub.Halt);
    }
}
