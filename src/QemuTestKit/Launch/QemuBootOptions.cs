using Microsoft.Extensions.Logging;
using QemuTestKit.Sdk;

namespace QemuTestKit;

/// <summary>Settings of <see cref="QemuBoot.StartAsync(QemuProfile, QemuBootOptions?, CancellationToken)"/>; every one is optional.</summary>
public sealed record QemuBootOptions
{
    /// <summary>The name of the console log in <see cref="ArtifactsDirectory"/>.</summary>
    public const string ConsoleLogName = "console.log";

    /// <summary>
    /// The machine's own settings (name, folders, wrapper, extra arguments after the profile's, launcher). Values set
    /// here win over <see cref="ArtifactsDirectory"/> and <see cref="Logger"/>.
    /// </summary>
    public QemuMachineOptions? Machine { get; init; }

    /// <summary>
    /// A folder for what the run leaves to read: QEMU's own output (<c>&lt;name&gt;.log</c>) and the console log
    /// (<see cref="ConsoleLogName"/>). Null keeps them in the machine's temp folder, removed at shutdown.
    /// </summary>
    public string? ArtifactsDirectory { get; init; }

    /// <summary>Receives the machine's and warm start's log messages.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Receives one line per step of the boot (warm start saved, restored, fell back and why).</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>
    /// Called with each machine the boot creates, before it launches: a failed restore is followed by a cold boot, so it
    /// may be called twice. For keeping evidence (command line, logs) of a boot that fails.
    /// </summary>
    public Action<QemuMachine>? MachineCreated { get; init; }

    /// <summary>Called right after QEMU started and QMP connected, before waiting for ready (for example to keep the QMP transcript).</summary>
    public Action<QemuMachine>? Launched { get; init; }

    /// <summary>
    /// Warm start: the cache folder, on/off, lock and restore timeouts. Its <c>Progress</c>, <c>Logger</c> and
    /// <c>Launched</c> are not read here; set this record's. Null follows the profile and <c>QEMUTESTKIT_WARMSTART</c>.
    /// </summary>
    public WarmStartOptions? WarmStart { get; init; }

    /// <summary>
    /// Makes the launcher of profiles with <c>"runner": "container"</c>, for example
    /// <c>QemuTestKit.Containers.ContainerLauncherFactory.Instance</c>; without it such a profile fails with a message
    /// that says which package to add.
    /// </summary>
    public IQemuLauncherFactory? ContainerLauncher { get; init; }

    /// <summary>The host facts the plan is resolved from (tests pass fakes).</summary>
    internal QemuHost Host { get; init; } = QemuHost.Current;
}
