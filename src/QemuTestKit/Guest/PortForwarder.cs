using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace QemuTestKit.Guest;

/// <summary>
/// Host-to-guest TCP forwards added at run time on the VM's user-mode network (QEMU's HMP <c>hostfwd_add</c> through
/// QMP). The host port is 0, so the kernel picks a free one when QEMU binds it — no "bind, close, hope" race — and the
/// real port is read back from <c>info usernet</c>. A forward lives in the QEMU process and ends with it.
/// </summary>
internal sealed partial class PortForwarder(QemuMachine machine, QemuGuestOptions options)
{
    private readonly Dictionary<int, IPEndPoint> _forwards = [];

    /// <summary>Forwards 127.0.0.1:&lt;free port&gt; to guest TCP <paramref name="guestPort"/>; the same guest port twice gives the same endpoint.</summary>
    public async Task<IPEndPoint> ForwardAsync(int guestPort, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(guestPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(guestPort, 65535);
        if (_forwards.TryGetValue(guestPort, out IPEndPoint? known))
        {
            return known;
        }

        string netdev = options.NetdevId ?? await FindUserNetdevAsync(cancellationToken).ConfigureAwait(false);
        HashSet<Forward> before = [.. Forwards(await HmpAsync("info usernet", cancellationToken).ConfigureAwait(false), netdev)];
        string rule = string.Create(CultureInfo.InvariantCulture, $"tcp:127.0.0.1:0-:{guestPort}");
        string answer = await HmpAsync($"hostfwd_add {netdev} {rule}", cancellationToken).ConfigureAwait(false);
        if (answer.Trim().Length > 0)
        {
            throw new QemuGuestException($"ForwardPortAsync({guestPort}): QEMU refused 'hostfwd_add {netdev} {rule}': {answer.Trim()}");
        }

        string table = await HmpAsync("info usernet", cancellationToken).ConfigureAwait(false);
        Forward[] added = [.. Forwards(table, netdev).Where(f => f.GuestPort == guestPort && !before.Contains(f))];
        if (added.Length != 1)
        {
            throw new QemuGuestException($"ForwardPortAsync({guestPort}): after 'hostfwd_add {netdev} {rule}' QEMU's 'info usernet' shows {added.Length} new forwards to guest port {guestPort}, expected 1:\n{table}");
        }

        var endpoint = new IPEndPoint(IPAddress.Loopback, added[0].HostPort);
        _forwards[guestPort] = endpoint;
        return endpoint;
    }

    /// <summary>The id of the VM's only user-mode network, from <c>info network</c>.</summary>
    private async Task<string> FindUserNetdevAsync(CancellationToken cancellationToken)
    {
        string network = await HmpAsync("info network", cancellationToken).ConfigureAwait(false);
        string[] ids = [.. UserNetdev().Matches(network).Select(m => m.Groups["id"].Value).Distinct(StringComparer.Ordinal)];
        return ids.Length switch
        {
            1 => ids[0],
            0 => throw new QemuGuestException(
                "ForwardPortAsync: the VM has no user-mode network to forward from. Give the profile a user-mode NIC " +
                $"(e.g. extra args '-nic user,restrict=on,model=virtio-net-pci,id=net0'). QEMU's 'info network':\n{network}"),
            _ => throw new QemuGuestException(
                $"ForwardPortAsync: the VM has {ids.Length} user-mode networks ({string.Join(", ", ids)}); set QemuGuestOptions.NetdevId to the one to forward from."),
        };
    }

    private async Task<string> HmpAsync(string command, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.CommandTimeout);
        try
        {
            var arguments = new Dictionary<string, object?> { ["command-line"] = command };
            return (await machine.Qmp.ExecuteAsync("human-monitor-command", arguments, deadline.Token).ConfigureAwait(false)).GetString() ?? "";
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"ForwardPortAsync: QEMU did not answer '{command}' within {options.CommandTimeout.TotalSeconds:0} s (QemuGuestOptions.CommandTimeout).", ex);
        }
    }

    /// <summary>The TCP host forwards that <c>info usernet</c> lists under <paramref name="netdev"/>'s heading.</summary>
    internal static IEnumerable<Forward> Forwards(string usernet, string netdev)
    {
        bool ours = false;
        foreach (string line in usernet.Split('\n'))
        {
            Match heading = Heading().Match(line);
            if (heading.Success)
            {
                ours = heading.Groups["id"].Value == netdev;
                continue;
            }

            Match row = ForwardRow().Match(line);
            if (ours && row.Success)
            {
                yield return new Forward(
                    row.Groups["host"].Value,
                    int.Parse(row.Groups["hport"].Value, CultureInfo.InvariantCulture),
                    int.Parse(row.Groups["gport"].Value, CultureInfo.InvariantCulture));
            }
        }
    }

    internal readonly record struct Forward(string HostAddress, int HostPort, int GuestPort);

    // " \ net0: index=0,type=user,net=10.0.2.0,restrict=on" (a -nic's netdev; a -netdev's line has no backslash).
    [GeneratedRegex(@"^[\s\\]*(?<id>[^\s:\\]+): index=\d+,type=user\b", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex UserNetdev();

    // "Hub -1 (net0):"
    [GeneratedRegex(@"^Hub -?\d+ \((?<id>[^)]+)\):", RegexOptions.CultureInvariant)]
    private static partial Regex Heading();

    // "  TCP[HOST_FORWARD]  16       127.0.0.1 42607       10.0.2.15  8080     0     0"
    [GeneratedRegex(@"^\s*TCP\[HOST_FORWARD\]\s+-?\d+\s+(?<host>\S+)\s+(?<hport>\d+)\s+\S+\s+(?<gport>\d+)\b", RegexOptions.CultureInvariant)]
    private static partial Regex ForwardRow();
}
