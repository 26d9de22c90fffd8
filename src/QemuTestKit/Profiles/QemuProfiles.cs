using System.Collections.Concurrent;
using System.Text.Json;

namespace QemuTestKit;

/// <summary>
/// The profiles a test assembly can use, resolved by name in this order: the run manifest the build writes
/// (<c>qemutestkit.manifest.json</c>), then <c>qemu-profiles.json</c>, both next to the test assembly, then the
/// built-in <c>none</c> and <c>tiny</c>. A profile is parsed when first asked for, so one broken profile does not
/// break the others; a broken <c>qemu-profiles.json</c> fails the names it could define, never the built-ins.
/// </summary>
public sealed class QemuProfiles
{
    private static readonly ConcurrentDictionary<string, QemuProfiles> Loaded = new(StringComparer.Ordinal);

    private readonly RunManifest? _manifest;
    private readonly string? _profilesFile;
    private readonly IReadOnlyDictionary<string, JsonElement> _fileProfiles;
    private readonly QemuProfileException? _fileError;
    private readonly ConcurrentDictionary<string, QemuProfile> _resolved = new(StringComparer.Ordinal);

    private QemuProfiles(
        string directory, RunManifest? manifest, string? profilesFile, IReadOnlyDictionary<string, JsonElement> fileProfiles, QemuProfileException? fileError)
    {
        Directory = directory;
        _manifest = manifest;
        _profilesFile = profilesFile;
        _fileProfiles = fileProfiles;
        _fileError = fileError;
    }

    /// <summary>The folder the profiles were loaded from (the test assembly's folder by default).</summary>
    public string Directory { get; }

    /// <summary>The run manifest that was read, if there is one.</summary>
    public string? ManifestPath => _manifest?.FilePath;

    /// <summary>The <c>qemu-profiles.json</c> that was read, if there is one.</summary>
    public string? ProfilesFilePath => _profilesFile;

    /// <summary>Every profile name that resolves, manifest and file profiles first.</summary>
    public IReadOnlyList<string> Names =>
        (_manifest?.Profiles.Keys ?? []).Concat(_fileProfiles.Keys).Concat(BuiltInProfiles.Names).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The profiles next to the running test assembly (<see cref="AppContext.BaseDirectory"/>), loaded once.</summary>
    /// <exception cref="QemuProfileException">The manifest is not valid JSON or has the wrong shape (an invalid profiles
    /// file fails only <see cref="Get"/> of a name it could define).</exception>
    public static QemuProfiles Default => Load(AppContext.BaseDirectory);

    /// <summary>Reads the manifest and profiles file in <paramref name="directory"/> (cached per folder).</summary>
    /// <param name="directory">The folder holding the test assembly.</param>
    /// <exception cref="QemuProfileException">The manifest is not valid JSON or has the wrong shape (an invalid profiles
    /// file fails only <see cref="Get"/> of a name it could define).</exception>
    public static QemuProfiles Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return Loaded.GetOrAdd(Path.GetFullPath(directory), LoadUncached);
    }

    internal static QemuProfiles LoadUncached(string directory)
    {
        string manifestPath = Path.Combine(directory, RunManifest.FileName);
        RunManifest? manifest = File.Exists(manifestPath) ? RunManifest.Load(manifestPath) : null;
        string profilesPath = Path.Combine(directory, ProfileFile.FileName);
        bool hasFile = File.Exists(profilesPath);
        IReadOnlyDictionary<string, JsonElement> fileProfiles = new Dictionary<string, JsonElement>();
        QemuProfileException? fileError = null;
        if (hasFile)
        {
            try
            {
                JsonElement root = ProfileFile.ParseRoot(profilesPath);
                ProfileFile.CheckTopLevelKeys(root, profilesPath, ProfileFile.TopLevelKeys);
                fileProfiles = ProfileFile.ProfilesOf(root, profilesPath);
            }
            catch (QemuProfileException ex)
            {
                // Kept for the names the file could define: a typo in the user's file must not take `tiny` down with it.
                fileError = ex;
            }
        }

        return new QemuProfiles(directory, manifest, hasFile ? profilesPath : null, fileProfiles, fileError);
    }

    /// <summary>Resolves a profile by name.</summary>
    /// <param name="name">The profile name.</param>
    /// <exception cref="QemuProfileException">No profile has that name, or its definition is invalid (the message
    /// names the field and the file), or it is not a built-in and <c>qemu-profiles.json</c> is invalid (the message says
    /// where), or it is <c>tiny</c> and the guest is not built.</exception>
    public QemuProfile Get(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_resolved.TryGetValue(name, out QemuProfile? cached))
        {
            return cached;
        }

        QemuProfile profile = Resolve(name)
            ?? throw new QemuProfileException(
                $"No QEMU profile is named '{name}'. Known profiles: {string.Join(", ", Names)}. Searched: {DescribeSources()}.",
                name, null, null);
        return _resolved.GetOrAdd(name, profile);
    }

    private QemuProfile? Resolve(string name)
    {
        if (_manifest is not null && _manifest.Profiles.TryGetValue(name, out JsonElement fromManifest))
        {
            return ProfileJsonReader.Read(name, fromManifest, _manifest.FilePath, _manifest.Images, ManifestBinaryFor(fromManifest));
        }

        if (_profilesFile is not null && _fileProfiles.TryGetValue(name, out JsonElement fromFile))
        {
            // A profiles file beside a manifest still uses the manifest's images and QEMU.
            return ProfileJsonReader.Read(name, fromFile, _profilesFile, _manifest?.Images, ManifestBinaryFor(fromFile));
        }

        if (_fileError is not null && !BuiltInProfiles.Names.Contains(name, StringComparer.Ordinal))
        {
            throw new QemuProfileException(
                $"Profile '{name}' cannot be read, because {_fileError.Message} (The built-in profiles {string.Join(", ", BuiltInProfiles.Names)} still work.)",
                name, _fileError.Field, _profilesFile, _fileError);
        }

        QemuProfile? builtIn = BuiltInProfiles.TryCreate(name, Directory);
        return builtIn is null ? null : builtIn with { QemuBinary = ManifestBinaryFor(builtIn.Arch) };
    }

    private string? ManifestBinaryFor(JsonElement profile) =>
        ManifestBinaryFor(profile.ValueKind == JsonValueKind.Object
            && profile.TryGetProperty("arch", out JsonElement arch)
            && arch.ValueKind == JsonValueKind.String
                ? arch.GetString()!
                : new QemuProfile("x").Arch);

    // The build finds one QEMU for one architecture; a profile for another architecture finds its own.
    private string? ManifestBinaryFor(string arch) =>
        _manifest?.QemuBinary is string binary && (_manifest.QemuArch is null || _manifest.QemuArch == arch) ? binary : null;

    private string DescribeSources()
    {
        var sources = new List<string>
        {
            _manifest?.FilePath ?? $"{Path.Combine(Directory, RunManifest.FileName)} (absent)",
            _profilesFile ?? $"{Path.Combine(Directory, ProfileFile.FileName)} (absent)",
            "built-ins (none, tiny)",
        };
        return string.Join("; ", sources);
    }
}
