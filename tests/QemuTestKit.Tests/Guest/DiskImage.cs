using System.Diagnostics;

namespace QemuTestKit.Tests.Guest;

/// <summary>Raw ext2 disk images made on the host with e2fsprogs (<c>mkfs.ext2 -d</c> fills one without mounting it).</summary>
internal static class DiskImage
{
    /// <summary>Writes an 8 MiB raw ext2 image at <paramref name="path"/> holding <paramref name="files"/> (name → text).</summary>
    public static async Task CreateExt2Async(string path, IReadOnlyDictionary<string, string> files, CancellationToken cancellationToken)
    {
        string content = path + ".d";
        Directory.CreateDirectory(content);
        foreach ((string name, string text) in files)
        {
            await File.WriteAllTextAsync(Path.Combine(content, name), text, cancellationToken);
        }

        var psi = new ProcessStartInfo(Mkfs())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "-q", "-F", "-d", content, path, "8M" })
        {
            psi.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(psi)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        Assert.True(process.ExitCode == 0, $"mkfs.ext2 failed ({process.ExitCode}): {await stderr}{await stdout}");
    }

    private static string Mkfs()
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin"]))
        {
            string candidate = Path.Combine(dir, "mkfs.ext2");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("mkfs.ext2 was not found; run 'bash build/install-prerequisites.sh' (or 'apt-get install e2fsprogs').");
    }
}
