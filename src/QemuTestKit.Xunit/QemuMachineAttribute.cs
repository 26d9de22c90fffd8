using System.Runtime.CompilerServices;
using Xunit.v3;

namespace QemuTestKit.Xunit;

/// <summary>
/// Gives the test class its own QEMU virtual machine, booted from the named profile before the class's first test and
/// shut down after its last. Take a <see cref="QemuVm"/> constructor parameter to use it; no <c>IClassFixture</c> is
/// needed.
/// </summary>
/// <remarks>
/// <para>The attribute places the class in a test collection (it is the class's collection attribute, so it cannot be
/// combined with <c>[Collection]</c>). By default all classes of one profile share a collection and run one after
/// another, each with its own VM. Set <see cref="Parallel"/> to give the class a collection of its own, so it may run
/// beside others; the number of VMs running at once is still bounded by the limit (<see cref="QemuVmLimitAttribute"/>,
/// <c>QEMUTESTKIT_MAX_VMS</c>).</para>
/// <para>The caller-information parameters are filled in by the compiler; do not pass them.</para>
/// </remarks>
/// <param name="profile">The profile name: from <c>qemu-profiles.json</c>, the build's run manifest, or built in
/// (<c>none</c>, <c>tiny</c>).</param>
/// <param name="sourceFile">Filled in by the compiler: identifies the class for its own collection.</param>
/// <param name="sourceLine">Filled in by the compiler: identifies the class for its own collection.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = true)]
public sealed class QemuMachineAttribute(
    string profile,
    [CallerFilePath] string sourceFile = "",
    [CallerLineNumber] int sourceLine = 0) : Attribute, ICollectionAttribute
{
    /// <summary>The collection-name prefix shared by every QemuTestKit collection.</summary>
    internal const string CollectionPrefix = "QemuTestKit: ";

    /// <summary>The profile the class's VM boots.</summary>
    public string Profile { get; } = profile;

    /// <summary>
    /// Lets this class run in parallel with other test classes (it gets a test collection of its own). Default
    /// <see langword="false"/>: classes of one profile run one after another.
    /// </summary>
    public bool Parallel { get; set; }

    /// <summary>
    /// Whether a VM that crashed (or, with <see cref="VmRestart.AfterFailure"/>, one whose test failed) is replaced by a
    /// fresh one, booted the same way (warm start makes that cheap), before the class's next test. Default
    /// <see cref="VmRestart.Never"/>. The replacement's artifacts go to a folder of its own (<c>&lt;class&gt;-vm2</c>, …).
    /// </summary>
    public VmRestart Restart { get; set; }

    // An attribute does not know the class it decorates, so the declaration site names the class's own collection:
    // deterministic from build to build, which keeps test IDs stable.
    string ICollectionAttribute.Name => Parallel
        ? $"{CollectionPrefix}{Profile} ({Path.GetFileName(sourceFile)}:{sourceLine})"
        : CollectionPrefix + Profile;

    Type? ICollectionAttribute.Type => typeof(QemuVmCollection);
}
