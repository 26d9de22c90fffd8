using System.Threading.Channels;

namespace QemuTestKit.Qmp;

/// <summary>A <see cref="QmpClient.ListenAsync"/> subscriber: gets a copy of every event whose name it wants.</summary>
internal sealed class EventListener(IReadOnlyCollection<string>? names)
{
    private readonly HashSet<string>? _names = names is null || names.Count == 0 ? null : new HashSet<string>(names, StringComparer.Ordinal);

    public Channel<QmpEvent> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<QmpEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public bool Wants(QmpEvent ev) => _names is null || _names.Contains(ev.Name);
}
