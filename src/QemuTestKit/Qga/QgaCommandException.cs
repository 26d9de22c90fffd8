using System.Text.Json;

namespace QemuTestKit.Qga;

/// <summary>The guest agent answered a command with an error reply (<c>{"error": {"class", "desc"}}</c>).</summary>
public sealed class QgaCommandException : Exception
{
    /// <summary>Creates the exception for <paramref name="command"/> failing with <paramref name="errorClass"/>.</summary>
    public QgaCommandException(string command, string errorClass, string description, JsonElement response)
        : base($"Guest agent command '{command}' failed: {errorClass}: {description}")
    {
        Command = command;
        ErrorClass = errorClass;
        Description = description;
        Response = response;
    }

    /// <summary>Creates the exception with no details.</summary>
    public QgaCommandException()
        : this("", "", "", default)
    {
    }

    /// <summary>Creates the exception with only a message.</summary>
    public QgaCommandException(string message)
        : base(message)
    {
        Command = "";
        ErrorClass = "";
        Description = message;
    }

    /// <summary>Creates the exception with only a message and an inner exception.</summary>
    public QgaCommandException(string message, Exception innerException)
        : base(message, innerException)
    {
        Command = "";
        ErrorClass = "";
        Description = message;
    }

    /// <summary>The command that failed, e.g. <c>guest-file-open</c>.</summary>
    public string Command { get; }

    /// <summary>The agent's error class, e.g. <c>GenericError</c> or <c>CommandNotFound</c>.</summary>
    public string ErrorClass { get; }

    /// <summary>The agent's human-readable description of the error.</summary>
    public string Description { get; }

    /// <summary>The whole error reply.</summary>
    public JsonElement Response { get; }
}
