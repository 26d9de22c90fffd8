namespace QemuTestKit.Xunit;

/// <summary>
/// Settings every snapshot assertion of the test assembly uses: scrubbers added here apply to every
/// <see cref="Snapshot.Match"/> call, after the call's own scrubbers and the class's
/// (<see cref="SnapshotScrubbersAttribute"/>), before the built-in <see cref="Scrubber.Defaults"/>.
/// </summary>
/// <remarks>
/// Configure <see cref="Global"/> once before tests run, e.g. in a <c>[ModuleInitializer]</c> of the test
/// assembly: tests run in parallel, and a scrubber added halfway through applies only to later calls.
/// Members are thread-safe.
/// </remarks>
public sealed class SnapshotSettings
{
    private readonly Lock _lock = new();
    private readonly List<Scrubber> _scrubbers = [];
    private volatile bool _useDefaultScrubbers = true;

    internal SnapshotSettings()
    {
    }

    /// <summary>The settings of this test assembly.</summary>
    public static SnapshotSettings Global { get; } = new();

    /// <summary>Whether <see cref="Scrubber.Defaults"/> run after all other scrubbers; true unless turned off.</summary>
    public bool UseDefaultScrubbers
    {
        get => _useDefaultScrubbers;
        set => _useDefaultScrubbers = value;
    }

    /// <summary>The scrubbers added so far, in the order they run.</summary>
    public IReadOnlyList<Scrubber> Scrubbers
    {
        get
        {
            lock (_lock)
            {
                return [.. _scrubbers];
            }
        }
    }

    /// <summary>Adds a scrubber that runs after those added before it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="scrubber"/> is null.</exception>
    public void AddScrubber(Scrubber scrubber)
    {
        ArgumentNullException.ThrowIfNull(scrubber);
        lock (_lock)
        {
            _scrubbers.Add(scrubber);
        }
    }

    /// <summary>Removes a scrubber added before; returns false if it was not there.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="scrubber"/> is null.</exception>
    public bool RemoveScrubber(Scrubber scrubber)
    {
        ArgumentNullException.ThrowIfNull(scrubber);
        lock (_lock)
        {
            return _scrubbers.Remove(scrubber);
        }
    }
}
