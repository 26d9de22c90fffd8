namespace QemuTestKit.Xunit;

/// <summary>What a passing snapshot assertion did.</summary>
internal enum SnapshotOutcome
{
    /// <summary>The text equals the verified snapshot.</summary>
    Matched,

    /// <summary>There was no snapshot; the text became the new verified snapshot.</summary>
    Created,

    /// <summary>The text differed and accept mode replaced the verified snapshot with it.</summary>
    Accepted,
}
