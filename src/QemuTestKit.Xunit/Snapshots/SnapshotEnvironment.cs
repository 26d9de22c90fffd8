namespace QemuTestKit.Xunit;

/// <summary>
/// How the snapshot assertion behaves in this process, read from environment variables: accept mode
/// (<c>QEMUTESTKIT_ACCEPT=1</c>) and whether this is a CI run (<c>CI=true</c> and the variables CI services set).
/// </summary>
internal sealed record SnapshotEnvironment(bool Accept, bool IsCi)
{
    public const string AcceptVariable = "QEMUTESTKIT_ACCEPT";

    // Variables CI services set whose mere presence means CI; "CI" itself is checked for a true value.
    private static readonly string[] s_ciPresence =
        ["GITHUB_ACTIONS", "TF_BUILD", "GITLAB_CI", "JENKINS_URL", "TEAMCITY_VERSION", "BUILDKITE", "CIRCLECI", "APPVEYOR", "TRAVIS"];

    public static SnapshotEnvironment Current { get; } = From(Environment.GetEnvironmentVariable);

    public static SnapshotEnvironment From(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        bool isCi = IsTrue(variable("CI"))
            || s_ciPresence.Any(name => !string.IsNullOrEmpty(variable(name)) && !IsFalse(variable(name)));
        return new SnapshotEnvironment(IsTrue(variable(AcceptVariable)), isCi);
    }

    private static bool IsTrue(string? value) =>
        value is not null && (value.Trim() is "1" || value.Trim().Equals("true", StringComparison.OrdinalIgnoreCase)
            || value.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase) || value.Trim().Equals("on", StringComparison.OrdinalIgnoreCase));

    private static bool IsFalse(string? value) =>
        value is not null && (value.Trim() is "0" || value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase)
            || value.Trim().Equals("no", StringComparison.OrdinalIgnoreCase) || value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase));
}
