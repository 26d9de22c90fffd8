using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using QemuTestKit.Build.Images;
using QemuTestKit.Build.Internal;
using QemuTestKit.Internal;

namespace QemuTestKit.Build;

/// <summary>
/// Stages the <c>QemuImage</c> items into the output folder: checks each SHA-256, downloads <c>http(s)://</c> and
/// <c>file://</c> sources once into a shared cache, unpacks <c>.gz</c>, <c>.xz</c>, <c>.bz2</c> and <c>.zst</c>,
/// converts to the <c>Format</c> metadata with qemu-img, and records what it staged in <see cref="ResultsFile"/>.
/// </summary>
/// <remarks>
/// Item metadata: <c>Sha256</c> (of the source; required for remote sources), <c>Name</c> (the staged file's name
/// and the manifest key), <c>Format</c> (convert to this disk format), <c>Unpack</c> (<c>false</c> keeps a
/// compressed file as it is). Logs QTK010–QTK019.
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "MSBuild never disposes tasks; the token source has no timer to release.")]
public sealed class StageQemuImages : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>The <c>QemuImage</c> items.</summary>
    public ITaskItem[] Images { get; set; } = [];

    /// <summary>The folder relative sources are resolved against (the project's folder).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>The folder images are staged to.</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>The shared cache (<c>QemuImageCacheDir</c>); <c>$XDG_CACHE_HOME/qemutestkit/images</c> or <c>~/.cache/qemutestkit/images</c> when empty.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>The resolved QEMU binary: qemu-img is looked for next to it first.</summary>
    public string? QemuBinary { get; set; }

    /// <summary>The <c>QemuImgBinary</c> property: qemu-img's path or file name, for <c>Format</c> conversions.</summary>
    public string? QemuImgBinary { get; set; }

    /// <summary>A JSON file that lists the staged images with their SHA-256; the manifest writer reads it.</summary>
    public string? ResultsFile { get; set; }

    /// <summary>How long one download may take.</summary>
    public int DownloadTimeoutSeconds { get; set; } = 1800;

    /// <summary>Files at least this large get progress messages.</summary>
    public long ProgressThresholdBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The staged files, with <c>Name</c>, <c>Sha256</c> and <c>Format</c> metadata.</summary>
    [Output]
    public ITaskItem[] StagedImages { get; private set; } = [];

    /// <summary>How many files were downloaded, unpacked or converted rather than taken from the cache.</summary>
    internal int ProducedFiles { get; private set; }

    /// <inheritdoc />
    public void Cancel() => _cancel.Cancel();

    /// <inheritdoc />
    public override bool Execute() => TaskRunner.Run(Log, () =>
    {
        string projectDirectory = string.IsNullOrEmpty(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory;
        IReadOnlyList<ImageSpec> specs = ImagePlanner.Plan(Images, projectDirectory, Path.GetFullPath(OutputDirectory, projectDirectory));
        string cache = string.IsNullOrWhiteSpace(CacheDirectory) ? ImageStager.DefaultCacheDirectory() : Path.GetFullPath(CacheDirectory, projectDirectory);
        var stager = new ImageStager(
            cache,
            LocateQemuImg,
            message => Log.LogMessage(MessageImportance.Normal, message),
            message => Log.LogMessage(MessageImportance.High, message),
            ProgressThresholdBytes,
            TimeSpan.FromSeconds(DownloadTimeoutSeconds));

        var staged = new List<StagedImage>();
        foreach (ImageSpec spec in specs)
        {
            try
            {
                staged.Add(stager.StageAsync(spec, _cancel.Token).GetAwaiter().GetResult());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new QemuBuildException(ErrorCodes.ImageIoFailed, $"Staging QemuImage '{spec.Source}' failed: {e.Message}", e);
            }
        }

        ProducedFiles = stager.ProducedFiles;
        StagedImages = [.. staged.Select(image =>
        {
            var item = new TaskItem(image.Path);
            item.SetMetadata("Name", image.Name);
            item.SetMetadata("Sha256", image.Sha256);
            item.SetMetadata("Format", image.Format ?? "");
            return (ITaskItem)item;
        })];

        if (!string.IsNullOrEmpty(ResultsFile))
        {
            FileUtilities.WriteTextIfChanged(Path.GetFullPath(ResultsFile, projectDirectory), JsonSerializer.Serialize(staged, BuildJsonContext.Default.ListStagedImage));
        }
    });

    private string LocateQemuImg()
    {
        string name = OperatingSystem.IsWindows() ? "qemu-img.exe" : "qemu-img";
        string hint = $"Set the QemuImgBinary property to qemu-img's path, or {HostToolHints.QemuImg}.";
        if (!string.IsNullOrWhiteSpace(QemuImgBinary))
        {
            string value = QemuImgBinary.Trim();
            if (HostToolSearch.IsBareFileName(value))
            {
                return HostToolSearch.Find(value, HostToolSearch.DefaultFolders())
                    ?? throw new QemuBuildException(ErrorCodes.QemuImgNotFound, $"qemu-img was not found: the QemuImgBinary property is '{value}', and no executable of that name is on PATH. {hint}");
            }

            string path = Path.GetFullPath(value, ProjectDirectory ?? Directory.GetCurrentDirectory());
            try
            {
                HostToolSearch.EnsureExecutable(path);
                return path;
            }
            catch (HostToolException e)
            {
                throw new QemuBuildException(ErrorCodes.QemuImgNotFound, $"qemu-img cannot be used: the QemuImgBinary property is '{value}', but {e.Message}. {hint}", e);
            }
        }

        var folders = new List<string>();
        if (!string.IsNullOrEmpty(QemuBinary) && Path.GetDirectoryName(QemuBinary) is string qemuFolder)
        {
            folders.Add(qemuFolder);
        }

        folders.AddRange(HostToolSearch.DefaultFolders());
        return HostToolSearch.Find(name, folders) ?? throw new QemuBuildException(
            ErrorCodes.QemuImgNotFound,
            $"An image has Format metadata, which needs qemu-img to convert it, but qemu-img was not found next to QEMU or on PATH. {hint}");
    }
}
