namespace QemuTestKit.Xunit;

/// <summary>
/// Adds scrubbers to every snapshot assertion of a test class: <paramref name="memberName"/> names a static
/// property, field or parameterless method of the class (or a base class) that returns
/// <see cref="IEnumerable{T}"/> of <see cref="Scrubber"/>, in the manner of xunit's <c>MemberData</c>.
/// </summary>
/// <remarks>
/// The class's scrubbers run after the call's own and before the global ones (<see cref="SnapshotSettings.Global"/>).
/// <see cref="Snapshot.Match"/> throws <see cref="InvalidOperationException"/> if the member does not exist or
/// returns something else.
/// </remarks>
/// <param name="memberName">The member, usually given with <c>nameof</c>.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = true)]
public sealed class SnapshotScrubbersAttribute(string memberName) : Attribute
{
    /// <summary>The static member of the test class that returns the scrubbers.</summary>
    public string MemberName { get; } = memberName;
}
