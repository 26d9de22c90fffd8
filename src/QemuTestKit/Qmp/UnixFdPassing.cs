using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace QemuTestKit.Qmp;

/// <summary>
/// SCM_RIGHTS over a unix socket: .NET has no managed API, so this calls libc's <c>sendmsg</c>. Like qemu.qmp's
/// <c>send_fd_scm</c> it sends one space with the descriptor; QEMU's JSON parser skips it as whitespace.
/// </summary>
internal static unsafe partial class UnixFdPassing
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgNoSignal = 0x4000;
    private const int EIntr = 4;
    private const int EAgain = 11;

    /// <summary>Sends <paramref name="fd"/> with one space byte on <paramref name="socket"/>; the caller serializes writes.</summary>
    /// <exception cref="PlatformNotSupportedException">Not Linux (the cmsghdr layout here is Linux's).</exception>
    /// <exception cref="IOException">sendmsg failed.</exception>
    public static void Send(Socket socket, SafeHandle fd)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Passing file descriptors over QMP is implemented for Linux only.");
        }

        bool socketRef = false;
        bool fdRef = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref socketRef);
            fd.DangerousAddRef(ref fdRef);
            nint socketFd = socket.SafeHandle.DangerousGetHandle();
            int passedFd = checked((int)fd.DangerousGetHandle());

            byte space = (byte)' ';
            var iov = new IoVec { Base = &space, Length = 1 };
            var control = new CmsgInt
            {
                Length = (nuint)(sizeof(CmsgHeader) + sizeof(int)),
                Level = SolSocket,
                Type = ScmRights,
                Fd = passedFd,
            };
            var message = new MsgHdr
            {
                Iov = &iov,
                IovLength = 1,
                Control = &control,
                ControlLength = (nuint)sizeof(CmsgInt),
            };

            while (true)
            {
                nint sent = SendMsg(socketFd, &message, MsgNoSignal);
                if (sent == 1)
                {
                    return;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (sent < 0 && errno == EIntr)
                {
                    continue;
                }

                if (sent < 0 && errno == EAgain)
                {
                    // .NET keeps sockets non-blocking; a full send buffer is rare for one byte, so wait for room.
                    socket.Poll(TimeSpan.FromSeconds(1), SelectMode.SelectWrite);
                    continue;
                }

                throw new IOException($"sendmsg(SCM_RIGHTS) failed: returned {sent}, errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).");
            }
        }
        finally
        {
            if (fdRef)
            {
                fd.DangerousRelease();
            }

            if (socketRef)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(nint socket, MsgHdr* message, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>A cmsghdr carrying one int, padded to CMSG_SPACE(sizeof(int)).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgInt
    {
        public nuint Length;
        public int Level;
        public int Type;
        public int Fd;
        private readonly int _padding;
    }
}
