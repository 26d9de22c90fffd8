using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using Xunit;
using Xunit.v3;

namespace QemuTestKit.Xunit;

/// <summary>
/// Snapshot assertions for xunit v3 tests: compares text with <c>&lt;Class&gt;.&lt;Method&gt;.verified.txt</c>
/// beside the test's source file, Verify's naming, so the expected text is reviewed and committed with the test.
/// </summary>
/// <remarks>
/// <para>The text is scrubbed first: the call's scrubbers, then the class's (<see cref="SnapshotScrubbersAttribute"/>),
/// then <see cref="SnapshotSettings.Global"/>'s, then <see cref="Scrubber.Defaults"/>.</para>
/// <para>On a mismatch the text is written to <c>.received.txt</c> and the test fails with a unified diff. With
/// <c>QEMUTESTKIT_ACCEPT=1</c> the verified file is replaced instead. A missing snapshot is created (the test passes
/// with a warning) unless this is a CI run (<c>CI=true</c>, <c>GITHUB_ACTIONS</c>, <c>TF_BUILD</c>, …), where it fails.</para>
/// <para>A theory's arguments are part of the file name (<c>Method_arch=x86_64</c>); several snapshots in one
/// test need a <c>name</c> each (<c>Method.console</c>).</para>
/// </remarks>
public static class Snapshot
{
    /// <summary>Compares <paramref name="text"/> with its verified snapshot; see <see cref="Snapshot"/>.</summary>
    /// <param name="text">The text to compare, e.g. from <see cref="SnapshotText"/>.</param>
    /// <param name="name">Tells several snapshots of one test apart; letters, digits, <c>-</c>, <c>_</c>, <c>.</c>.</param>
    /// <param name="scrubbers">Scrubbers for this call only; they run first.</param>
    /// <param name="sourceFilePath">Filled in by the compiler: the test's source file, whose folder holds the snapshot.</param>
    /// <exception cref="SnapshotMismatchException">The text differs from the snapshot, or the snapshot is missing in CI.</exception>
    /// <exception cref="InvalidOperationException">Not called from a running xunit v3 test, the source folder does not exist,
    /// or a <see cref="SnapshotScrubbersAttribute"/> names a missing member.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not usable in a file name.</exception>
    public static void Match(string text, string? name = null, IEnumerable<Scrubber>? scrubbers = null, [CallerFilePath] string sourceFilePath = "")
    {
        (string scrubbed, SnapshotFile file) = Prepare(text, name, scrubbers, sourceFilePath, TestContext.Current, SnapshotSettings.Global);
        Report(SnapshotVerifier.Verify(scrubbed, file, SnapshotEnvironment.Current), file, TestContext.Current);
    }

    /// <summary>Compares <paramref name="text"/> with its verified snapshot, reading and writing files asynchronously; see <see cref="Match"/>.</summary>
    /// <param name="text">The text to compare.</param>
    /// <param name="name">Tells several snapshots of one test apart.</param>
    /// <param name="scrubbers">Scrubbers for this call only; they run first.</param>
    /// <param name="sourceFilePath">Filled in by the compiler.</param>
    /// <param name="cancellationToken">Cancels the file reads and writes; the current test's token when not given.</param>
    /// <exception cref="SnapshotMismatchException">The text differs from the snapshot, or the snapshot is missing in CI.</exception>
    /// <exception cref="InvalidOperationException">As for <see cref="Match"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not usable in a file name.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task MatchAsync(
        string text,
        string? name = null,
        IEnumerable<Scrubber>? scrubbers = null,
        [CallerFilePath] string sourceFilePath = "",
        CancellationToken cancellationToken = default)
    {
        ITestContext context = TestContext.Current;
        (string scrubbed, SnapshotFile file) = Prepare(text, name, scrubbers, sourceFilePath, context, SnapshotSettings.Global);
        CancellationToken token = cancellationToken.CanBeCanceled ? cancellationToken : context.CancellationToken;
        SnapshotOutcome outcome = await SnapshotVerifier.VerifyAsync(scrubbed, file, SnapshotEnvironment.Current, token).ConfigureAwait(false);
        Report(outcome, file, context);
    }

    /// <summary>
    /// Compares <paramref name="text"/> with its verified snapshot, as
    /// <see cref="MatchAsync(string, string?, IEnumerable{Scrubber}?, string, CancellationToken)"/>, with the token second so
    /// that <c>MatchAsync(text, TestContext.Current.CancellationToken)</c> needs no argument names.
    /// </summary>
    /// <param name="text">The text to compare.</param>
    /// <param name="cancellationToken">Cancels the file reads and writes.</param>
    /// <param name="sourceFilePath">Filled in by the compiler.</param>
    /// <exception cref="SnapshotMismatchException">The text differs from the snapshot, or the snapshot is missing in CI.</exception>
    /// <exception cref="InvalidOperationException">As for <see cref="Match"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static Task MatchAsync(string text, CancellationToken cancellationToken, [CallerFilePath] string sourceFilePath = "") =>
        MatchAsync(text, name: null, scrubbers: null, sourceFilePath, cancellationToken);

    /// <summary>Scrubs the text and finds its snapshot file for the test <paramref name="context"/> is running.</summary>
    internal static (string Text, SnapshotFile File) Prepare(
        string text, string? name, IEnumerable<Scrubber>? scrubbers, string sourceFilePath, ITestContext context, SnapshotSettings settings)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (context.TestClass is not IXunitTestClass testClass || context.TestMethod is not IXunitTestMethod testMethod)
        {
            throw new InvalidOperationException("Snapshot.Match must be called from inside a running xunit v3 test: it names the snapshot after the test's class and method.");
        }

        string? directory = Path.GetDirectoryName(sourceFilePath);
        if (string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
        {
            throw new InvalidOperationException(
                $"The folder of the test's source file '{sourceFilePath}' does not exist, so the snapshot cannot be stored beside it. " +
                "If the build maps source paths (deterministic CI builds), set <DeterministicSourcePaths>false</DeterministicSourcePaths> in the test project.");
        }

        IReadOnlyList<object?> arguments = (context.Test as IXunitTest)?.TestMethodArguments ?? [];
        var file = new SnapshotFile(directory, SnapshotFile.StemFor(testClass.Class, testMethod.Method, arguments, name));
        IEnumerable<Scrubber> pipeline = (scrubbers ?? [])
            .Concat(ClassScrubbers(testClass.Class))
            .Concat(settings.Scrubbers)
            .Concat(settings.UseDefaultScrubbers ? Scrubber.Defaults : []);
        return (Scrubber.Apply(text, pipeline), file);
    }

    /// <summary>The scrubbers a class declares with <see cref="SnapshotScrubbersAttribute"/>, in attribute order.</summary>
    internal static IEnumerable<Scrubber> ClassScrubbers(Type testClass)
    {
        var scrubbers = new List<Scrubber>();
        foreach (SnapshotScrubbersAttribute attribute in testClass.GetCustomAttributes<SnapshotScrubbersAttribute>(inherit: true))
        {
            const BindingFlags Static = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.FlattenHierarchy;
            object? value = testClass.GetMember(attribute.MemberName, Static).FirstOrDefault() switch
            {
                PropertyInfo property => property.GetValue(null),
                FieldInfo field => field.GetValue(null),
                MethodInfo method when method.GetParameters().Length == 0 => method.Invoke(null, null),
                _ => throw new InvalidOperationException(
                    $"[SnapshotScrubbers(\"{attribute.MemberName}\")] on {testClass.Name}: no static property, field or parameterless method '{attribute.MemberName}' was found."),
            };

            if (value is not IEnumerable items || items.Cast<object?>().Any(item => item is not Scrubber))
            {
                throw new InvalidOperationException(
                    $"[SnapshotScrubbers(\"{attribute.MemberName}\")] on {testClass.Name}: '{attribute.MemberName}' must return IEnumerable<Scrubber> without nulls.");
            }

            scrubbers.AddRange(items.Cast<Scrubber>());
        }

        return scrubbers;
    }

    internal static void Report(SnapshotOutcome outcome, SnapshotFile file, ITestContext context)
    {
        string? message = outcome switch
        {
            SnapshotOutcome.Created => $"New snapshot written to {file.VerifiedPath}: review it and commit it.",
            SnapshotOutcome.Accepted => $"Snapshot {file.VerifiedPath} updated ({SnapshotEnvironment.AcceptVariable} is set): review the change and commit it.",
            _ => null,
        };
        if (message is null)
        {
            return;
        }

        // A warning alone is invisible under `dotnet test` (Microsoft Testing Platform shows no warnings of a passing
        // test); the test's output is shown by `dotnet test --output detailed` and kept in TRX reports, and a diagnostic
        // message by runners with diagnostic messages on.
        context.AddWarning(message);
        context.TestOutputHelper?.WriteLine(message);
        context.SendDiagnosticMessage(message);
    }
}
