using Microsoft.Build.Utilities;

namespace QemuTestKit.Build.Internal;

/// <summary>Turns the user-fixable failures of a task body into coded MSBuild errors.</summary>
internal static class TaskRunner
{
    public static bool Run(TaskLoggingHelper log, Action body)
    {
        try
        {
            body();
        }
        catch (QemuBuildException e)
        {
            log.LogError(subcategory: null, errorCode: e.Code, helpKeyword: null, file: e.File, lineNumber: e.Line, columnNumber: e.Column, endLineNumber: 0, endColumnNumber: 0, message: e.Message);
        }
        catch (OperationCanceledException)
        {
            // The build was cancelled (Ctrl+C): MSBuild reports that itself.
            return false;
        }

        return !log.HasLoggedErrors;
    }

    public static void LogError(TaskLoggingHelper log, string code, string message) =>
        log.LogError(subcategory: null, errorCode: code, helpKeyword: null, file: null, lineNumber: 0, columnNumber: 0, endLineNumber: 0, endColumnNumber: 0, message: message);
}
