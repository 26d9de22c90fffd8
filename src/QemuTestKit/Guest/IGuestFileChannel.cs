namespace QemuTestKit.Guest;

/// <summary>
/// A way to move files between host and guest. The serial console (<see cref="ConsoleFileChannel"/>) works with any
/// guest that has a shell there; a faster channel (the guest agent, virtio-serial, 9p) implements this and is given
/// to <see cref="QemuGuest"/> instead.
/// </summary>
internal interface IGuestFileChannel
{
    /// <summary>A short name for messages and benchmarks, e.g. <c>console</c>.</summary>
    string Name { get; }

    /// <summary>Copies a host file into the guest; SHA-256 checked on arrival.</summary>
    /// <exception cref="QemuGuestException">The copy failed; the message names the file and the byte offset.</exception>
    /// <exception cref="TimeoutException">A piece of the copy did not finish in time.</exception>
    Task CopyToGuestAsync(string hostPath, string guestPath, CancellationToken cancellationToken);

    /// <summary>Copies a guest file to the host; SHA-256 checked on arrival.</summary>
    /// <exception cref="QemuGuestException">The copy failed; the message names the file and the byte offset.</exception>
    /// <exception cref="TimeoutException">A piece of the copy did not finish in time.</exception>
    Task CopyFromGuestAsync(string guestPath, string hostPath, CancellationToken cancellationToken);
}
