using System.Text.Json;
using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

/// <summary>QEMU answered a command with an error reply (<c>{"error": {"class", "desc"}}</c>).</summary>
public sealed class QmpCommandException : Exception
{
    /// <summary>Creates the exception for <paramref name="command"/> failing with <paramref name="errorClass"/>.</summary>
    public QmpCommandException(string command, string errorClass, string description, JsonElement response)
        : base(PrintableText.Of($"QMP command '{command}' failed: {errorClass}: {description}"))
    {
        Command = command;
        ErrorClass = errorClass;
        Description = description;
        Response = response;
    }

    /// <summary>Creates the exception with only a message.</summary>
    public QmpCommandException()
        : this("", "", "", default)
    {
    }

    /// <summary>Creates the exception with only a message.</summary>
    public QmpCommandException(string message)
        : base(PrintableText.Of(message))
    {
        Command = "";
        ErrorClass = "";
        Description = message;
    }

    /// <summary>Creates the exception with only a message and an inner exception.</summary>
    public QmpCommandException(string message, Exception innerException)
        : base(PrintableText.Of(message), innerException)
    {
        Command = "";
        ErrorClass = "";
        Description = message;
    }

    /// <summary>The command that failed, e.g. <c>device_add</c>.</summary>
    public string Command { get; }

    /// <summary>QEMU's error class, e.g. <c>GenericError</c> or <c>CommandNotFound</c>.</summary>
    public string ErrorClass { get; }

    /// <summary>QEMU's human-readable description of the error.</summary>
    public string Description { get; }

    /// <summary>The whole error reply.</summary>
    public JsonElement Response { get; }
}
