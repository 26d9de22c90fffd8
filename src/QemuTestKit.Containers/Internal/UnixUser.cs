namespace QemuTestKit.Containers;

/// <summary>
/// The effective user of this process. QEMU in a unix-socket container runs as this user, so the console socket it
/// creates in the bind-mounted folder is connectable by the test process, and files it writes there are the test's.
/// </summary>
internal static class UnixUser
{
    /// <summary><c>uid:gid</c> as Docker's <c>--user</c> takes it (read from /proc, which needs no native call).</summary>
    public static string DockerUser { get; } = Read();

    private static string Read()
    {
        string uid = "0";
        string gid = "0";
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            // "Uid:\treal\teffective\tsaved\tfs": the effective id is the one that opens files.
            string[] fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 2 && fields[0] == "Uid:")
            {
                uid = fields[2];
            }
            else if (fields.Length > 2 && fields[0] == "Gid:")
            {
                gid = fields[2];
            }
        }

        return $"{uid}:{gid}";
    }
}
