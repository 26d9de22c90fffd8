using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using QemuTestKit.Build.Images;
using QemuTestKit.Build.Internal;

namespace QemuTestKit.Build;

/// <summary>
/// Validates the <c>QemuImage</c> items and says where each one will be staged, without reading any file:
/// the staging target uses the result as its declared Outputs.
/// </summary>
/// <remarks>Logs QTK012 (bad or missing Sha256), QTK017 (duplicate or invalid Name) and QTK018 (unsupported URL).</remarks>
public sealed class PlanQemuImages : Microsoft.Build.Utilities.Task
{
    /// <summary>The <c>QemuImage</c> items.</summary>
    public ITaskItem[] Images { get; set; } = [];

    /// <summary>The folder relative sources are resolved against (the project's folder).</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>The folder images are staged to (in the build output).</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>One item per image: the staged file's full path, with <c>Name</c> and <c>Source</c> metadata.</summary>
    [Output]
    public ITaskItem[] StagedFiles { get; private set; } = [];

    /// <summary>The local source files (remote sources are not files), for the staging target's Inputs.</summary>
    [Output]
    public ITaskItem[] LocalSources { get; private set; } = [];

    /// <inheritdoc />
    public override bool Execute() => TaskRunner.Run(Log, () =>
    {
        string projectDirectory = string.IsNullOrEmpty(ProjectDirectory) ? Directory.GetCurrentDirectory() : ProjectDirectory;
        IReadOnlyList<ImageSpec> specs = ImagePlanner.Plan(Images, projectDirectory, Path.GetFullPath(OutputDirectory, projectDirectory));
        LocalSources = [.. specs.Where(spec => spec.LocalPath is not null).Select(spec => (ITaskItem)new TaskItem(spec.LocalPath))];
        StagedFiles = [.. specs.Select(spec =>
        {
            var item = new TaskItem(spec.StagedPath);
            item.SetMetadata("Name", spec.Name);
            item.SetMetadata("Source", spec.Source);
            return (ITaskItem)item;
        })];
    });
}
