namespace QemuTestKit.Xunit;

/// <summary>
/// xunit v3 reports an exception as an assertion failure (not an error) when it implements an interface
/// with this name, from any assembly: the kit need not reference xunit's assertion library for it.
/// </summary>
#pragma warning disable CA1040 // The interface is a marker by design: xunit recognizes it by name.
internal interface IAssertionException;
#pragma warning restore CA1040
