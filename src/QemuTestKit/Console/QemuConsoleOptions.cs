using Microsoft.Extensions.Logging;

namespace QemuTestKit;

/// <summary>Settings of a <see cref="QemuConsole"/>.</summary>
public sealed record QemuConsoleOptions
{
    /// <summary>The default of <see cref="MaxTextLength"/>: 1 Mi characters (2 MiB of memory for the text, 4 MiB at most for its buffer).</summary>
    public const int DefaultMaxTextLength = 1024 * 1024;

    /// <summary>The smallest <see cref="MaxTextLength"/> accepted.</summary>
    public const int MinMaxTextLength = 1024;

    /// <summary>A file that receives every byte the console prints (truncated on connect, kept after the VM is gone).</summary>
    public string? LogPath { get; init; }

    /// <summary>Receives connection and log-file problems.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// How many of the most recent characters <see cref="QemuConsole.Text"/> keeps in memory (default
    /// <see cref="DefaultMaxTextLength"/>, at least <see cref="MinMaxTextLength"/>). Older text is dropped from memory only:
    /// <see cref="LogPath"/> keeps all of it, and waits keep working (a wait whose cursor lies in dropped text searches from
    /// the oldest text kept).
    /// </summary>
    public int MaxTextLength { get; init; } = DefaultMaxTextLength;

    /// <summary>
    /// The token a call made without one follows (e.g. the current test's): set by <see cref="QemuMachine"/> from
    /// <see cref="QemuMachineOptions.AmbientCancellation"/>.
    /// </summary>
    internal Func<CancellationToken>? AmbientCancellation { get; init; }

    /// <summary>Checks the settings before a console is created.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MaxTextLength"/> is below <see cref="MinMaxTextLength"/>.</exception>
    internal void Validate()
    {
        if (MaxTextLength < MinMaxTextLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxTextLength), MaxTextLength, $"QemuConsoleOptions.MaxTextLength must be at least {MinMaxTextLength} characters; the default is {DefaultMaxTextLength}.");
        }
    }
}
