using System.Text.Json;
using QemuTestKit.Qmp;

namespace QemuTestKit.Qga;

/// <summary>The guest agent answered a command with an error reply (<c>{"error": {"class", "desc"}}</c>).</summary>
public sealed class QgaCommandException : CommandErrorException
{
    /// <summary>Creates the exception for <paramref name="command"/> failing with <paramref name="errorClass"/>.</summary>
    public QgaCommandException(string command, string errorClass, string description, JsonElement response)
        : base($"Guest agent command '{command}' failed: {errorClass}: {description}", command, errorClass, description, response, null)
    {
    }

    /// <summary>Creates the exception with no details.</summary>
    public QgaCommandException()
        : this("", "", "", default)
    {
    }

    /// <summary>Creates the exception with only a message.</summary>
    public QgaCommandException(string message)
        : base(message, "", "", message, default, null)
    {
    }

    /// <summary>Creates the exception with only a message and an inner exception.</summary>
    public QgaCommandException(string message, Exception innerException)
        : base(message, "", "", message, default, innerException)
    {
    }
}
