using System.Security.Cryptography;
using Docker.DotNet.Handler.Abstractions;
using Docker.DotNet.X509;

namespace QemuTestKit.Containers;

/// <summary>
/// TLS to a TCP engine as Docker's own clients read it from the environment: <c>DOCKER_TLS_VERIFY</c> (TLS, and the
/// engine's certificate checked against <c>ca.pem</c>) or <c>DOCKER_TLS</c> (TLS without that check), with
/// <c>ca.pem</c>, <c>cert.pem</c> and <c>key.pem</c> in <c>DOCKER_CERT_PATH</c> (default <c>~/.docker</c>).
/// </summary>
internal static class DockerTls
{
    /// <summary>The client credentials the environment asks for, or <see langword="null"/> when it asks for no TLS.</summary>
    /// <exception cref="QemuLaunchException">TLS is asked for and a certificate file is missing or unreadable; the message says which and what to set.</exception>
    public static IAuthProvider? FromEnvironment(Uri endpoint, Func<string, string?> environment)
    {
        bool verify = IsOn(environment("DOCKER_TLS_VERIFY"));
        if (!verify && !IsOn(environment("DOCKER_TLS")))
        {
            return null;
        }

        string? configured = environment("DOCKER_CERT_PATH");
        string folder = string.IsNullOrEmpty(configured)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker")
            : configured;
        string[] needed = verify ? ["ca.pem", "cert.pem", "key.pem"] : ["cert.pem", "key.pem"];
        string[] missing = [.. needed.Where(file => !File.Exists(Path.Combine(folder, file)))];
        string variable = verify ? "DOCKER_TLS_VERIFY" : "DOCKER_TLS";
        if (missing.Length > 0)
        {
            throw new QemuLaunchException(
                $"{variable} asks for TLS to the Docker engine at {endpoint}, but DOCKER_CERT_PATH ({folder}{(string.IsNullOrEmpty(configured) ? ", the default" : "")}) " +
                $"has no {string.Join(", ", missing)}. Point DOCKER_CERT_PATH at the folder with ca.pem, cert.pem and key.pem of a client certificate " +
                "that engine trusts (`docker context inspect` or the engine's administrator tells where), or unset " + variable + " for an engine without TLS.",
                null);
        }

        try
        {
            return DockerTlsCertificates.LoadFromDirectory(folder, verify, "ca.pem", "cert.pem", "key.pem").CreateCredentials();
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new QemuLaunchException(
                $"The TLS files in DOCKER_CERT_PATH ({folder}) for the Docker engine at {endpoint} cannot be read as PEM certificates and key: {ex.Message}. " +
                "Point DOCKER_CERT_PATH at the folder with the engine's ca.pem and your client cert.pem and key.pem.",
                ex);
        }
    }

    private static bool IsOn(string? value) => !string.IsNullOrEmpty(value) && value != "0" && !value.Equals("false", StringComparison.OrdinalIgnoreCase);
}
