namespace QemuTestKit.Build.Internal;

/// <summary>The diagnostic codes the tasks log; the README's error table lists the same codes.</summary>
internal static class ErrorCodes
{
    public const string QemuNotFound = "QTK001";
    public const string QemuNotExecutable = "QTK002";
    public const string NotQemu = "QTK003";
    public const string ImageSourceNotFound = "QTK010";
    public const string HashMismatch = "QTK011";
    public const string HashMissingOrInvalid = "QTK012";
    public const string DownloadFailed = "QTK013";
    public const string UnpackFailed = "QTK014";
    public const string QemuImgNotFound = "QTK015";
    public const string QemuImgFailed = "QTK016";
    public const string DuplicateImageName = "QTK017";
    public const string UnsupportedSource = "QTK018";
    public const string ImageIoFailed = "QTK019";
    public const string ProfileFileInvalid = "QTK020";
    public const string ProfileMetadataInvalid = "QTK021";
    public const string DuplicateProfileName = "QTK022";
    public const string ProfileFileNotFound = "QTK023";
    public const string UnknownImageMetadata = "QTK024";
}
