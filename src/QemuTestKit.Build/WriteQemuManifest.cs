using System.Text.Json;
using Microsoft.Build.Framework;
using QemuTestKit.Build.Images;
using QemuTestKit.Build.Internal;
using QemuTestKit.Build.Manifest;
using QemuTestKit.Internal;

namespace QemuTestKit.Build;

/// <summary>
/// Writes the run manifest (<c>qemutestkit.manifest.json</c>) that the QemuTestKit runtime reads next to the test
/// assembly: the QEMU binary and version, the staged images and the profiles from <c>QemuProfile</c> items (json
/// files, or items whose metadata are the profile's fields).
/// </summary>
/// <remarks>Logs QTK020 (unreadable profile file), QTK021 (invalid profile metadata) and QTK022 (duplicate profile).</remarks>
public sealed class WriteQemuManifest : Microsoft.Build.Utilities.Task
{
    /// <summary>Where to write the manifest.</summary>
    [Required]
    public string ManifestPath { get; set; } = "";

    /// <summary>The resolved QEMU binary; left out of the manifest when empty.</summary>
    public string? QemuBinary { get; set; }

    /// <summary>The resolved QEMU version.</summary>
    public string? QemuVersion { get; set; }

    /// <summary>The target architecture.</summary>
    public string? QemuArch { get; set; }

    /// <summary>The results file of <see cref="StageQemuImages"/>.</summary>
    public string? ImagesFile { get; set; }

    /// <summary>The <c>QemuProfile</c> items.</summary>
    public ITaskItem[] Profiles { get; set; } = [];

    /// <summary>The folder relative paths in profile items are resolved against (the project's folder).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>True when the file was (re)written, false when it already held the same manifest.</summary>
    [Output]
    public bool Written { get; private set; }

    /// <inheritdoc />
    public override bool Execute() => TaskRunner.Run(Log, () =>
    {
        string projectDirectory = string.IsNullOrEmpty(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory;
        string manifestPath = Path.GetFullPath(ManifestPath, projectDirectory);
        var builder = new ManifestBuilder(manifestPath);
        builder.SetQemu(QemuBinary, QemuVersion, QemuArch);

        if (!string.IsNullOrEmpty(ImagesFile) && File.Exists(ImagesFile))
        {
            foreach (StagedImage image in JsonSerializer.Deserialize(File.ReadAllText(ImagesFile), BuildJsonContext.Default.ListStagedImage) ?? [])
            {
                builder.AddImage(image);
            }
        }

        foreach (ITaskItem item in Profiles)
        {
            if (ProfileItemReader.IsProfileFile(item))
            {
                builder.AddProfileFile(Path.GetFullPath(item.ItemSpec, projectDirectory));
            }
            else
            {
                builder.AddProfile(item.ItemSpec, ProfileItemReader.Read(item, builder.HasImage), projectDirectory, "the QemuProfile item '" + item.ItemSpec + "'");
            }
        }

        Written = FileUtilities.WriteTextIfChanged(manifestPath, builder.ToJson());
        Log.LogMessage(MessageImportance.Normal, Written ? "QemuTestKit: wrote {0}" : "QemuTestKit: {0} is up to date", manifestPath);
    });
}
