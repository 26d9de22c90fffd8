using System.Runtime.Versioning;

// The tests start shell scripts and set Unix file modes; the tasks themselves also run on Windows.
[assembly: UnsupportedOSPlatform("windows")]
