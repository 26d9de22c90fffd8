using System.Globalization;
using System.Net;
using System.Net.Sockets;
using QemuTestKit.Internal;
using QemuTestKit.Qga;
using QemuTestKit.Sdk;

namespace QemuTestKit;

// The guest agent's channel: a virtio-serial port on a socket chardev QEMU serves, which the machine connects to once
// the guest runs (qemu-ga starts with the guest, not with QEMU).
public sealed partial class QemuMachine
{
    /// <summary>The default bound on <see cref="ConnectGuestAgentAsync"/>: a guest that boots under TCG on a loaded host can take minutes.</summary>
    public static readonly TimeSpan DefaultGuestAgentTimeout = TimeSpan.FromSeconds(120);

    private string? _agentSerialDevice;
    private string? _agentUnixPath;
    private int _agentPort;
    private QgaClient? _agent;

    /// <summary>Whether the machine has the guest agent's channel (<see cref="SetGuestAgent"/>, or a profile with <c>"guestAgent": true</c>).</summary>
    public bool HasGuestAgent => _agentSerialDevice is not null;

    /// <summary>
    /// The connected guest agent client (<c>qemu-ga</c> in the guest), for command execution with separate output and
    /// exit code, file I/O, OS info and shutdown. Connected by <see cref="ConnectGuestAgentAsync"/>, which
    /// <see cref="QemuBoot"/> calls as part of a profile's ready condition; closed at shutdown.
    /// </summary>
    /// <exception cref="QemuMachineException">The machine has no guest agent channel (the message names the profile option
    /// <c>guestAgent</c>), or it is not connected yet.</exception>
    public QgaClient GuestAgent => _agent ?? throw new QemuMachineException(
        HasGuestAgent
            ? $"The guest agent of VM {Name} is not connected: call ConnectGuestAgentAsync() once the guest runs (QemuBoot and [QemuMachine] do it before a test starts)."
            : $"VM {Name} has no guest agent channel: set \"guestAgent\": true in its profile (QemuProfile.GuestAgent), or call SetGuestAgent() before LaunchAsync(); the guest must run qemu-ga on the port {MachineCommandLine.GuestAgentPortName}.");

    /// <summary>The guest agent client when it is connected and its channel is open; null otherwise.</summary>
    internal QgaClient? ConnectedGuestAgent => _agent is { IsClosed: false } agent ? agent : null;

    /// <summary>
    /// Gives the VM the guest agent's channel at the next launch: a virtio-serial controller
    /// (<paramref name="serialDevice"/>), a port named <c>org.qemu.guest_agent.0</c> and a socket chardev in
    /// <see cref="SockDir"/> that the machine connects to in <see cref="ConnectGuestAgentAsync"/>.
    /// </summary>
    /// <param name="serialDevice"><c>virtio-serial-pci</c> (PCI machines), or <c>virtio-serial-device</c> (virtio-mmio, e.g. <c>microvm</c>).</param>
    public void SetGuestAgent(string serialDevice = "virtio-serial-pci")
    {
        ArgumentException.ThrowIfNullOrEmpty(serialDevice);
        _agentSerialDevice = serialDevice;
    }

    /// <summary>
    /// Connects to the guest agent and waits until it answers (<c>guest-sync-delimited</c>, then <c>guest-ping</c>),
    /// or resynchronises an open connection (after a restore or a guest reboot). Bounded: a guest without qemu-ga
    /// never answers, and that ends in a <see cref="TimeoutException"/>, not a hang.
    /// </summary>
    /// <param name="timeout">The bound; <see langword="null"/> for <see cref="DefaultGuestAgentTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The connected client, also <see cref="GuestAgent"/>.</returns>
    /// <exception cref="QemuMachineException">The machine has no guest agent channel, or is not running.</exception>
    /// <exception cref="TimeoutException">The agent did not answer in time; the message names the socket and shows the console's last lines.</exception>
    /// <exception cref="QgaConnectionException">The channel closed (QEMU exited) before the agent answered.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<QgaClient> ConnectGuestAgentAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!HasGuestAgent)
        {
            _ = GuestAgent; // the exception that names the profile option
        }

        QgaClient? agent = ConnectedGuestAgent;

        if (!IsRunning)
        {
            throw new QemuMachineException($"VM {Name} is not running: launch it before connecting to its guest agent.");
        }

        TimeSpan bound = timeout ?? DefaultGuestAgentTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(bound);
        try
        {
            if (agent is null)
            {
                Stream stream = await ConnectGuestAgentStreamAsync(deadline.Token).ConfigureAwait(false);
                agent = await QgaClient.ConnectAsync(
                    stream,
                    new QgaClientOptions { Name = Name + "-qga", Logger = _logger, CommandTimeout = bound },
                    deadline.Token).ConfigureAwait(false);
                if (_agent is { } old)
                {
                    await old.DisposeAsync().ConfigureAwait(false);
                }

                _agent = agent;
            }
            else
            {
                await agent.ResyncAsync(bound, deadline.Token).ConfigureAwait(false);
            }

            await agent.PingAsync(deadline.Token).ConfigureAwait(false);
            return agent;
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new TimeoutException(
                string.Create(CultureInfo.InvariantCulture, $"The guest agent of VM {Name} did not answer on {GuestAgentAddress} within {bound.TotalSeconds:0.###} s. ")
                + $"Does the guest run qemu-ga on the virtio-serial port {MachineCommandLine.GuestAgentPortName}? (The tiny guest starts it when the port exists.)"
                + (DescribeProcessState() is { } state ? $" QEMU is {state}." : "")
                + $"\nconsole (last lines):\n{_console?.Tail() ?? "(no console)"}",
                ex);
        }
    }

    private string GuestAgentAddress => _agentUnixPath ?? string.Create(CultureInfo.InvariantCulture, $"TCP port {_agentPort}");

    /// <summary>Decides the agent socket at launch (as the console's), and remembers it for the connection.</summary>
    private (string? UnixPath, int Port) ReserveGuestAgentSocket(bool connectBack, List<int> listenPorts)
    {
        (_agentUnixPath, _agentPort) = _agentSerialDevice is null ? (null, 0) : ReserveServedSocket("qga", connectBack, listenPorts);
        return (_agentUnixPath, _agentPort);
    }

    private async Task<Stream> ConnectGuestAgentStreamAsync(CancellationToken cancellationToken)
    {
        IQemuProcess process = _process ?? throw new QemuMachineException($"VM {Name} is not running.");
        Socket socket = await RetryConnectAsync(
            ct =>
            {
                if (_agentUnixPath is not null)
                {
                    return SocketConnect.UnixAsync(_agentUnixPath, ct);
                }

                DnsEndPoint endpoint = process.ResolveTcpEndpoint(_agentPort);
                return SocketConnect.TcpAsync(endpoint.Host, endpoint.Port, ct);
            },
            cancellationToken).ConfigureAwait(false);
        return new NetworkStream(socket, ownsSocket: true);
    }

    private async Task CloseGuestAgentAsync()
    {
        QgaClient? agent = _agent;
        _agent = null;
        if (agent is not null)
        {
            await agent.CloseAsync().ConfigureAwait(false);
        }
    }
}
