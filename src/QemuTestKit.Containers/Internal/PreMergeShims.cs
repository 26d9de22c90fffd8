// TEMPORARY: mirrors of the machine branch's launcher seam so this project builds before `git merge machine`.
// Deleted at the merge.
#pragma warning disable CA1515, CA1032, CA1819, CS1591, CA1716, CA1711
using System.Net;

namespace QemuTestKit;

public class QemuMachineException(string message, Exception? inner) : Exception(message, inner);

public sealed class QemuLaunchException(string message, Exception? inner) : QemuMachineException(message, inner);

public interface IQemuLauncher
{
    bool QemuCanConnectToHost { get; }

    string QemuListenHost { get; }

    Task<IQemuProcess> StartAsync(QemuLaunchSpec spec, CancellationToken cancellationToken = default);
}

public interface IQemuProcess : IAsyncDisposable
{
    int? Pid { get; }

    bool HasExited { get; }

    int? ExitCode { get; }

    int? Signal { get; }

    Task WaitForExitAsync(CancellationToken cancellationToken = default);

    Task KillAsync(CancellationToken cancellationToken = default);

    DnsEndPoint ResolveTcpEndpoint(int port);
}

public sealed record QemuLaunchSpec
{
    public required IReadOnlyList<string> Wrapper { get; init; }

    public required string Binary { get; init; }

    public required IReadOnlyList<string> Arguments { get; init; }

    public IReadOnlyList<string> CommandLine => [.. Wrapper, Binary, .. Arguments];

    public required string LogPath { get; init; }

    public required string SocketDirectory { get; init; }

    public required IReadOnlyList<string> SharedDirectories { get; init; }

    public IReadOnlyList<int> QemuListenPorts { get; init; } = [];

    public IReadOnlyList<int> InheritedFileDescriptors { get; init; } = [];

    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
}
