namespace QemuTestKit.Build.Internal;

internal static class FileUtilities
{
    /// <summary>Writes <paramref name="content"/> unless the file already holds it, so its time stamp only moves on change.</summary>
    public static bool WriteTextIfChanged(string path, string content)
    {
        if (File.Exists(path) && string.Equals(File.ReadAllText(path), content, StringComparison.Ordinal))
        {
            return false;
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        string temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
        return true;
    }

    /// <summary>A temporary file next to <paramref name="finalPath"/>, so the final rename is atomic on the same file system.</summary>
    public static string TempPathNextTo(string finalPath) =>
        finalPath + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8] + ".partial";

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover .partial file is harmless and never read.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
