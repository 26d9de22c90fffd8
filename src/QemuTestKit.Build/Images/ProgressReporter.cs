using System.Globalization;

namespace QemuTestKit.Build.Images;

/// <summary>
/// Reports how far a long copy got: at every tenth of a known size, or every 256 MiB of an unknown one.
/// Files smaller than the threshold stay silent, so ordinary builds are not noisy.
/// </summary>
internal sealed class ProgressReporter
{
    private const long UnknownSizeStep = 256L * 1024 * 1024;

    private readonly Action<string> _report;
    private readonly string _what;
    private readonly long? _total;
    private readonly bool _enabled;
    private long _done;
    private long _nextReport;

    public ProgressReporter(Action<string> report, string what, long? total, long threshold)
    {
        _report = report;
        _what = what;
        _total = total;
        _enabled = total is null ? threshold <= UnknownSizeStep : total >= threshold;
        _nextReport = Step;
    }

    private long Step => _total is long total ? Math.Max(1, total / 10) : UnknownSizeStep;

    public void Advance(int bytes)
    {
        _done += bytes;
        if (!_enabled || _done < _nextReport)
        {
            return;
        }

        while (_nextReport <= _done)
        {
            _nextReport += Step;
        }

        _report(_total is long total && total > 0
            ? string.Format(CultureInfo.InvariantCulture, "QemuTestKit: {0}: {1}% ({2} of {3})", _what, Math.Min(100, _done * 100 / total), Size(_done), Size(total))
            : string.Format(CultureInfo.InvariantCulture, "QemuTestKit: {0}: {1}", _what, Size(_done)));
    }

    private static string Size(long bytes) => bytes >= 1024 * 1024
        ? string.Format(CultureInfo.InvariantCulture, "{0:0.0} MiB", bytes / (1024.0 * 1024))
        : string.Format(CultureInfo.InvariantCulture, "{0} bytes", bytes);
}
