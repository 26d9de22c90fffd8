using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using QemuTestKit.Build.Internal;
using QemuTestKit.Internal;

namespace QemuTestKit.Build.Images;

/// <summary>
/// Stages one image: fetch (remote sources go through the download cache, like QEMU's functional-test asset cache),
/// check its SHA-256, unpack and convert (the result is cached by the source's hash), copy to the output folder.
/// </summary>
internal sealed class ImageStager
{
    // One client for the life of the build node: sockets are pooled, and a download has its own timeout below.
    private static readonly HttpClient s_http = new() { Timeout = Timeout.InfiniteTimeSpan };

    private readonly string _cacheDirectory;
    private readonly Func<string> _locateQemuImg;
    private readonly Action<string> _log;
    private readonly Action<string> _progress;
    private readonly long _progressThreshold;
    private readonly TimeSpan _downloadTimeout;

    public ImageStager(string cacheDirectory, Func<string> locateQemuImg, Action<string> log, Action<string> progress, long progressThreshold, TimeSpan downloadTimeout)
    {
        _cacheDirectory = cacheDirectory;
        _locateQemuImg = locateQemuImg;
        _log = log;
        _progress = progress;
        _progressThreshold = progressThreshold;
        _downloadTimeout = downloadTimeout;
    }

    /// <summary>Counts the files this stager downloaded, unpacked or converted (tests use it to see cache hits).</summary>
    public int ProducedFiles { get; private set; }

    public static string DefaultCacheDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg)
            ? xdg
            : OperatingSystem.IsWindows()
                ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "qemutestkit", "images");
    }

    public async Task<StagedImage> StageAsync(ImageSpec spec, CancellationToken cancellationToken)
    {
        (string sourceFile, string sourceSha256) = spec.IsRemote
            ? await FetchAsync(spec, cancellationToken).ConfigureAwait(false)
            : await VerifyLocalAsync(spec, cancellationToken).ConfigureAwait(false);

        (string producedFile, string stagedSha256) = spec.TransformKey is null
            ? (sourceFile, sourceSha256)
            : await TransformAsync(spec, sourceFile, sourceSha256, cancellationToken).ConfigureAwait(false);

        Directory.CreateDirectory(Path.GetDirectoryName(spec.StagedPath)!);
        File.Copy(producedFile, spec.StagedPath, overwrite: true);
        // A fresh time stamp: the target's Outputs must be newer than its Inputs for the next build to skip it.
        File.SetLastWriteTimeUtc(spec.StagedPath, DateTime.UtcNow);
        _log(string.Format(CultureInfo.InvariantCulture, "QemuTestKit: staged {0} ({1:N0} bytes, sha256 {2}) from {3}", spec.StagedPath, new FileInfo(spec.StagedPath).Length, stagedSha256, spec.Source));
        return new StagedImage(spec.Name, spec.StagedPath, stagedSha256, spec.ManifestFormat);
    }

    private async Task<(string File, string Sha256)> VerifyLocalAsync(ImageSpec spec, CancellationToken cancellationToken)
    {
        string path = spec.LocalPath!;
        if (!File.Exists(path))
        {
            throw new QemuBuildException(ErrorCodes.ImageSourceNotFound, $"QemuImage '{spec.Source}' does not exist: '{path}' was not found. Fix the item's path, or build the image first.");
        }

        string actual = await StreamCopy.HashFileAsync(path, length => Progress("checking " + Path.GetFileName(path), length), cancellationToken).ConfigureAwait(false);
        if (spec.ExpectedSha256 is string expected && expected != actual)
        {
            throw Mismatch(path, expected, actual, "If the file changed on purpose, update the item's Sha256 metadata.");
        }

        return (path, actual);
    }

    private async Task<(string File, string Sha256)> FetchAsync(ImageSpec spec, CancellationToken cancellationToken)
    {
        string expected = spec.ExpectedSha256!;
        string cached = Path.Combine(_cacheDirectory, "downloads", expected);
        if (File.Exists(cached))
        {
            string actual = await StreamCopy.HashFileAsync(cached, length => Progress("checking cached " + spec.Name, length), cancellationToken).ConfigureAwait(false);
            if (actual == expected)
            {
                _log($"QemuTestKit: {spec.Source}: cache hit {cached}");
                return (cached, actual);
            }

            // A damaged cache entry is replaced, never used.
            _log($"QemuTestKit: {cached} has sha256 {actual}, not {expected}; downloading again");
            FileUtilities.TryDelete(cached);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        string temp = FileUtilities.TempPathNextTo(cached);
        try
        {
            string actual = await DownloadAsync(spec, temp, cancellationToken).ConfigureAwait(false);
            if (actual != expected)
            {
                throw Mismatch(spec.Source, expected, actual, "The download was discarded; fix the item's Sha256 metadata or the URL.");
            }

            File.Move(temp, cached, overwrite: true);
            ProducedFiles++;
            return (cached, actual);
        }
        finally
        {
            FileUtilities.TryDelete(temp);
        }
    }

    private async Task<string> DownloadAsync(ImageSpec spec, string temp, CancellationToken cancellationToken)
    {
        Uri uri = spec.RemoteUri!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_downloadTimeout);
        _log($"QemuTestKit: downloading {uri}");
        try
        {
            FileStream output = StreamCopy.Create(temp);
            await using (output.ConfigureAwait(false))
            {
                if (uri.IsFile)
                {
                    if (!File.Exists(uri.LocalPath))
                    {
                        throw new QemuBuildException(ErrorCodes.ImageSourceNotFound, $"QemuImage '{spec.Source}' does not exist: '{uri.LocalPath}' was not found.");
                    }

                    FileStream input = StreamCopy.OpenRead(uri.LocalPath);
                    await using (input.ConfigureAwait(false))
                    {
                        return await StreamCopy.CopyAndHashAsync(input, output, Progress("copying " + spec.Name, input.Length), timeout.Token).ConfigureAwait(false);
                    }
                }

                using HttpResponseMessage response = await s_http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new QemuBuildException(
                        ErrorCodes.DownloadFailed,
                        string.Format(CultureInfo.InvariantCulture, "Downloading QemuImage '{0}' failed: HTTP {1} {2}.", spec.Source, (int)response.StatusCode, response.ReasonPhrase));
                }

                Stream body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    return await StreamCopy.CopyAndHashAsync(body, output, Progress("downloading " + spec.Name, response.Content.Headers.ContentLength), timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (HttpRequestException e)
        {
            throw new QemuBuildException(ErrorCodes.DownloadFailed, $"Downloading QemuImage '{spec.Source}' failed: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QemuBuildException(
                ErrorCodes.DownloadFailed,
                string.Format(CultureInfo.InvariantCulture, "Downloading QemuImage '{0}' did not finish within {1:0} s; raise QemuDownloadTimeoutSeconds for large images.", spec.Source, _downloadTimeout.TotalSeconds),
                e);
        }
    }

    private async Task<(string File, string Sha256)> TransformAsync(ImageSpec spec, string sourceFile, string sourceSha256, CancellationToken cancellationToken)
    {
        string entry = Path.Combine(_cacheDirectory, "staged", sourceSha256, spec.TransformKey!);
        string shaFile = entry + ".sha256";
        if (File.Exists(entry) && File.Exists(shaFile))
        {
            _log($"QemuTestKit: {spec.Source}: cache hit {entry}");
            return (entry, File.ReadAllText(shaFile).Trim());
        }

        Directory.CreateDirectory(Path.GetDirectoryName(entry)!);
        var temps = new List<string>();
        try
        {
            string current = sourceFile;
            string? sha256 = null;
            if (spec.Compression != Compression.None)
            {
                string unpacked = FileUtilities.TempPathNextTo(entry);
                temps.Add(unpacked);
                sha256 = await UnpackAsync(spec, current, unpacked, cancellationToken).ConfigureAwait(false);
                current = unpacked;
            }

            if (spec.TargetFormat is string format && ConvertIfNeeded(spec, current, format, entry, temps, cancellationToken) is string converted)
            {
                current = converted;
                sha256 = await StreamCopy.HashFileAsync(current, length => Progress("hashing " + spec.Name, length), cancellationToken).ConfigureAwait(false);
            }

            sha256 ??= sourceSha256;
            string shaTemp = FileUtilities.TempPathNextTo(shaFile);
            temps.Add(shaTemp);
            await File.WriteAllTextAsync(shaTemp, sha256, cancellationToken).ConfigureAwait(false);
            if (current == sourceFile)
            {
                // Already in the requested format: cache a copy so the entry never depends on the source staying put.
                string copy = FileUtilities.TempPathNextTo(entry);
                temps.Add(copy);
                File.Copy(sourceFile, copy);
                current = copy;
            }

            // Data first, then the hash: an entry only counts once both exist, so a crash in between is just a miss.
            File.Move(current, entry, overwrite: true);
            File.Move(shaTemp, shaFile, overwrite: true);
            ProducedFiles++;
            return (entry, sha256);
        }
        finally
        {
            foreach (string temp in temps)
            {
                FileUtilities.TryDelete(temp);
            }
        }
    }

    private async Task<string> UnpackAsync(ImageSpec spec, string compressedFile, string destination, CancellationToken cancellationToken)
    {
        _log($"QemuTestKit: unpacking {spec.Source} ({spec.Compression})");
        try
        {
            FileStream input = StreamCopy.OpenRead(compressedFile);
            Stream decompressed = Decompressor.Open(input, spec.Compression);
            await using (decompressed.ConfigureAwait(false))
            {
                FileStream output = StreamCopy.Create(destination);
                await using (output.ConfigureAwait(false))
                {
                    return await StreamCopy.CopyAndHashAsync(decompressed, output, Progress("unpacking " + spec.Name, null), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException and not QemuBuildException)
        {
            // The readers throw their own exception types on corrupt input; every one means the same to the user.
            throw new QemuBuildException(
                ErrorCodes.UnpackFailed,
                $"Could not unpack QemuImage '{spec.Source}' as {spec.Compression}: {e.Message}. Check the file (or its Sha256), or set Unpack=\"false\" to stage it as it is.",
                e);
        }
    }

    /// <summary>Converts with qemu-img unless the file already has the format; returns the converted file or null.</summary>
    private string? ConvertIfNeeded(ImageSpec spec, string input, string format, string entry, List<string> temps, CancellationToken cancellationToken)
    {
        string qemuImg = _locateQemuImg();
        HostToolResult info = RunQemuImg(spec, qemuImg, ["info", "--output=json", input], cancellationToken);
        string? current = null;
        try
        {
            using var document = JsonDocument.Parse(info.StandardOutput);
            current = document.RootElement.TryGetProperty("format", out JsonElement value) ? value.GetString() : null;
        }
        catch (JsonException)
        {
            // Unparsable output: convert anyway, qemu-img will say what is wrong.
        }

        if (string.Equals(current, format, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string converted = FileUtilities.TempPathNextTo(entry);
        temps.Add(converted);
        _log($"QemuTestKit: converting {spec.Source} from {current ?? "?"} to {format}");
        RunQemuImg(spec, qemuImg, ["convert", "-O", format, input, converted], cancellationToken);
        ProducedFiles++;
        return converted;
    }

    private static HostToolResult RunQemuImg(ImageSpec spec, string qemuImg, string[] arguments, CancellationToken cancellationToken)
    {
        HostToolResult result;
        try
        {
            result = HostToolRunner.Run(qemuImg, arguments, TimeSpan.FromMinutes(30), cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is HostToolException or TimeoutException)
        {
            throw new QemuBuildException(ErrorCodes.QemuImgFailed, $"qemu-img failed on QemuImage '{spec.Source}': {e.Message}", e);
        }

        if (result.ExitCode != 0)
        {
            throw new QemuBuildException(
                ErrorCodes.QemuImgFailed,
                string.Format(CultureInfo.InvariantCulture, "qemu-img failed on QemuImage '{0}' (Format=\"{1}\"): '{2}' exited with {3}: {4}", spec.Source, spec.TargetFormat, result.CommandText, result.ExitCode, CommandLineText.Tail(result.Output, 20)));
        }

        return result;
    }

    private ProgressReporter Progress(string what, long? length) => new(_progress, what, length, _progressThreshold);

    private static QemuBuildException Mismatch(string file, string expected, string actual, string advice) =>
        new(ErrorCodes.HashMismatch, $"SHA-256 mismatch for '{file}': expected {expected} (Sha256 metadata), actual {actual}. {advice}");
}
