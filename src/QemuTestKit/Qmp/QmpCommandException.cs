using System.Text.Json;

namespace QemuTestKit.Qmp;

/// <summary>QEMU answered a command with an error reply (<c>{"error": {"class", "desc"}}</c>).</summary>
public sealed class QmpCommandException : CommandErrorException
{
    /// <summary>Creates the exception for <paramref name="command"/> failing with <paramref name="errorClass"/>.</summary>
    public QmpCommandException(string command, string errorClass, string description, JsonElement response)
        : base($"QMP command '{command}' failed: {errorClass}: {description}", command, errorClass, description, response, null)
    {
    }

    /// <summary>Creates the exception with no details.</summary>
    public QmpCommandException()
        : this("", "", "", default)
    {
    }

    /// <summary>Creates the exception with only a message.</summary>
    public QmpCommandException(string message)
        : base(message, "", "", message, default, null)
    {
    }

    /// <summary>Creates the exception with only a message and an inner exception.</summary>
    public QmpCommandException(string message, Exception innerException)
        : base(message, "", "", message, default, innerException)
    {
    }
}
