using System.Text.Json;
using QemuTestKit.Internal;

namespace QemuTestKit.Qmp;

/// <summary>
/// An error reply (<c>{"error": {"class", "desc"}}</c>) to a command sent in QMP's wire format: from QEMU
/// (<see cref="QmpCommandException"/>) or from the guest agent (<see cref="Qga.QgaCommandException"/>). Catch this type
/// to handle both alike.
/// </summary>
public abstract class CommandErrorException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> is made printable (control characters escaped).</summary>
    /// <param name="message">The whole message.</param>
    /// <param name="command">The command that failed, or empty.</param>
    /// <param name="errorClass">The error class from the reply, or empty.</param>
    /// <param name="description">The description from the reply.</param>
    /// <param name="response">The whole error reply, or <see langword="default"/>.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected CommandErrorException(string message, string command, string errorClass, string description, JsonElement response, Exception? innerException)
        : base(PrintableText.Of(message), innerException)
    {
        Command = command;
        ErrorClass = errorClass;
        Description = description;
        Response = response;
    }

    /// <summary>The command that failed, e.g. <c>device_add</c> or <c>guest-file-open</c>.</summary>
    public string Command { get; }

    /// <summary>The error class, e.g. <c>GenericError</c> or <c>CommandNotFound</c>.</summary>
    public string ErrorClass { get; }

    /// <summary>The human-readable description of the error.</summary>
    public string Description { get; }

    /// <summary>The whole error reply.</summary>
    public JsonElement Response { get; }
}
