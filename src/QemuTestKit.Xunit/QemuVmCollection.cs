using Xunit;
namespace QemuTestKit.Xunit;

/// <summary>
/// The collection definition <see cref="QemuMachineAttribute"/> names: a class fixture declared here gives every class
/// in the collection its own <see cref="QemuVm"/>, with no boilerplate on the test class.
/// </summary>
internal sealed class QemuVmCollection : IClassFixture<QemuVm>;
