namespace QemuTestKit.Tests.Profiles;

/// <summary>Profile loading: where profiles come from, in what order, and what a broken one says.</summary>
public sealed class QemuProfilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qtk-profiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private QemuProfiles Write(string? profilesJson = null, string? manifestJson = null)
    {
        if (profilesJson is not null)
        {
            File.WriteAllText(Path.Combine(_dir, "qemu-profiles.json"), profilesJson);
        }

        if (manifestJson is not null)
        {
            File.WriteAllText(Path.Combine(_dir, "qemutestkit.manifest.json"), manifestJson);
        }

        return QemuProfiles.LoadUncached(_dir);
    }

    [Fact]
    public void Reads_every_field_and_resolves_paths_against_the_file()
    {
        QemuProfiles profiles = Write("""
            { "profiles": { "arm": {
                "arch": "aarch64", "machine": "virt", "memory": "1G", "smp": 2, "accel": "tcg",
                "kernel": "images/Image", "initrd": "/abs/initrd", "append": "console=ttyAMA0",
                "drives": [ { "path": "disk,1.qcow2", "format": "qcow2", "interface": "virtio", "readOnly": true, "snapshot": true } ],
                "args": ["-device", "virtio-rng-pci"], "console": { "device": "virtio-serial", "index": 1 },
                "readyPattern": "login:", "failurePatterns": ["Kernel panic", "Oops"], "prompt": "# ",
                "bootTimeoutSeconds": 300, "shutdownTimeoutSeconds": 5, "warmStart": true,
                "runner": "container", "containerImage": "qemutestkit/qemu:local" } } }
            """);

        QemuProfile p = profiles.Get("arm");

        Assert.Equal("aarch64", p.Arch);
        Assert.Equal("virt", p.Machine);
        Assert.Equal("1G", p.Memory);
        Assert.Equal(2, p.Smp);
        Assert.Equal(QemuAccelerator.Tcg, p.Accel);
        Assert.Equal(Path.Combine(_dir, "images", "Image"), p.Kernel);
        Assert.Equal("/abs/initrd", p.Initrd);
        Assert.Equal("console=ttyAMA0", p.Append);
        QemuDrive drive = Assert.Single(p.Drives);
        Assert.Equal(Path.Combine(_dir, "disk,1.qcow2"), drive.Path);
        Assert.True(drive.ReadOnly && drive.Snapshot);
        Assert.Equal(["-device", "virtio-rng-pci"], p.Args);
        Assert.Equal(new QemuProfileConsole("virtio-serial", 1), p.Console);
        Assert.Equal("login:", p.ReadyPattern);
        Assert.Equal(["Kernel panic", "Oops"], p.FailurePatterns);
        Assert.Equal("# ", p.Prompt);
        Assert.Equal(TimeSpan.FromSeconds(300), p.BootTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), p.ShutdownTimeout);
        Assert.True(p.WarmStart);
        Assert.Equal(QemuRunner.Container, p.Runner);
        Assert.Equal("qemutestkit/qemu:local", p.ContainerImage);
        Assert.Equal(Path.Combine(_dir, "qemu-profiles.json"), p.Source);
    }

    [Fact]
    public void A_kernel_profile_gets_a_serial_console_unless_it_opts_out()
    {
        QemuProfiles profiles = Write("""
            { "profiles": { "a": { "kernel": "k" }, "b": { "kernel": "k", "console": null }, "c": {} } }
            """);

        Assert.Equal(new QemuProfileConsole(), profiles.Get("a").Console);
        Assert.Null(profiles.Get("b").Console);
        Assert.Null(profiles.Get("c").Console);
    }

    [Theory]
    [InlineData("""{ "smp": "two" }""", "smp", "must be a positive integer, got the string \"two\"")]
    [InlineData("""{ "memry": "256M" }""", "memry", "is not a profile field")]
    [InlineData("""{ "memory": "lots" }""", "memory", "must be a size")]
    [InlineData("""{ "accel": "xen" }""", "accel", "must be one of \"auto\", \"kvm\", \"tcg\"")]
    [InlineData("""{ "readyPattern": "(" }""", "readyPattern", "is not a valid regular expression")]
    [InlineData("""{ "failurePatterns": ["ok", 3] }""", "failurePatterns[1]", "must be a string")]
    [InlineData("""{ "drives": [ { "format": "raw" } ] }""", "drives[0]", "needs exactly one of \"image\"")]
    [InlineData("""{ "drives": [ { "path": "a", "bus": "ide.0" } ] }""", "drives[0].bus", "is not a drive field")]
    [InlineData("""{ "bootTimeoutSeconds": -1 }""", "bootTimeoutSeconds", "must be a positive number of seconds")]
    [InlineData("""{ "append": "quiet" }""", "append", "needs \"kernel\"")]
    [InlineData("""{ "console": "ttyS0" }""", "console", "must be an object")]
    public void Schema_errors_name_the_profile_the_field_and_the_file(string profileJson, string field, string problem)
    {
        QemuProfiles profiles = Write($$"""{ "profiles": { "broken": {{profileJson}} } }""");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("broken"));

        Assert.Equal("broken", ex.Profile);
        Assert.Equal(field, ex.Field);
        Assert.Contains($"Profile 'broken', field '{field}' {problem}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dir, "qemu-profiles.json"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_profile_does_not_break_the_others()
    {
        QemuProfiles profiles = Write("""{ "profiles": { "good": { "memory": 512 }, "bad": { "smp": 0 } } }""");

        Assert.Equal("512", profiles.Get("good").Memory);
        Assert.Throws<QemuProfileException>(() => profiles.Get("bad"));
    }

    [Fact]
    public void Invalid_json_names_the_file()
    {
        // The error now comes when a profile the file could define is asked for, not when the folder is loaded.
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => Write("{ \"profiles\": { ").Get("mine"));

        Assert.Contains("qemu-profiles.json is not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_json_syntax_error_gives_the_one_based_line_and_column_and_quotes_the_line()
    {
        QemuProfiles profiles = Write("{\n  \"profiles\": {\n    \"mine\": { \"memory\": \"1G\" }\n    \"other\": {}\n  }\n}\n");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("mine"));

        // The missing comma: line 4 of the file, where "other" starts in column 5.
        Assert.Contains($"{Path.Combine(_dir, "qemu-profiles.json")} is not valid JSON: line 4, column 5:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\n        \"other\": {}\n        ^", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", ex.Message, StringComparison.Ordinal);
        Assert.Equal("mine", ex.Profile);
    }

    [Fact]
    public void A_json_column_counts_characters_not_bytes()
    {
        QemuProfiles profiles = Write("{ \"profiles\": { \"é€\": { } \"x\": 1 } }");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("x"));

        Assert.Contains("line 1, column 27:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_profiles_file_leaves_the_built_ins_working()
    {
        string guest = Path.Combine(_dir, "build", "guest", "out");
        Directory.CreateDirectory(guest);
        File.WriteAllText(Path.Combine(guest, "guest.json"), "{}");
        QemuProfiles profiles = Write("{ \"profiles\": { \"mine\": { \"memory\": 512 } ");

        Assert.Equal("none", profiles.Get("none").Name);
        Assert.Equal("built-in", profiles.Get("tiny").Source);
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("mine"));
        Assert.Contains("Profile 'mine' cannot be read, because", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(_dir, "qemu-profiles.json"), ex.SourceFile);
    }

    [Fact]
    public void An_unknown_top_level_key_is_an_error_naming_it_and_the_allowed_ones()
    {
        QemuProfiles profiles = Write("""{ "profile": { "mine": { "memory": 512 } } }""");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("mine"));

        Assert.Contains("unknown top-level key \"profile\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the allowed keys are \"profiles\", \"$schema\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dir, "qemu-profiles.json"), ex.Message, StringComparison.Ordinal);
        Assert.Equal("profile", ex.Field);
        Assert.Equal("none", profiles.Get("none").Name);
    }

    [Fact]
    public void Manifest_comes_first_and_gives_images_and_the_qemu_binary()
    {
        QemuProfiles profiles = Write(
            profilesJson: """{ "profiles": { "disk": { "memory": "1M" }, "fileonly": { "drives": [ { "image": "root" } ] } } }""",
            manifestJson: """
                { "version": 1,
                  "qemu": { "binary": "/opt/qemu/bin/qemu-system-x86_64", "version": "7.2.22", "arch": "x86_64" },
                  "images": { "root": { "path": "images/root.qcow2", "sha256": "ab", "format": "qcow2" } },
                  "profiles": { "disk": { "memory": "2G", "drives": [ { "image": "root", "interface": "virtio" } ] },
                                "arm": { "arch": "aarch64" } } }
                """);

        QemuProfile disk = profiles.Get("disk");
        Assert.Equal("2G", disk.Memory);
        QemuDrive drive = Assert.Single(disk.Drives);
        Assert.Equal(Path.Combine(_dir, "images", "root.qcow2"), drive.Path);
        Assert.Equal("qcow2", drive.Format);
        Assert.Equal("root", drive.Image);
        Assert.Equal("/opt/qemu/bin/qemu-system-x86_64", disk.QemuBinary);
        Assert.Equal("/opt/qemu/bin/qemu-system-x86_64", profiles.Get("fileonly").QemuBinary);
        Assert.Equal("/opt/qemu/bin/qemu-system-x86_64", profiles.Get("none").QemuBinary);
        Assert.Null(profiles.Get("arm").QemuBinary);
        Assert.Equal(["disk", "arm", "fileonly", "none", "tiny", "tiny-x86_64", "tiny-aarch64", "tiny-uefi", "tiny-uefi-x86_64", "tiny-uefi-aarch64", "tiny-agent", "tiny-agent-x86_64", "tiny-agent-aarch64"], profiles.Names);
    }

    [Fact]
    public void A_drive_naming_an_unstaged_image_says_how_to_stage_it()
    {
        QemuProfiles profiles = Write(manifestJson: """{ "version": 1, "profiles": { "d": { "drives": [ { "image": "nope" } ] } } }""");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("d"));

        Assert.Equal("drives[0].image", ex.Field);
        Assert.Contains("<QemuImage>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_of_another_version_is_refused()
    {
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => Write(manifestJson: """{ "version": 2 }"""));

        Assert.Contains("reads version 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_name_lists_the_known_profiles_and_where_it_looked()
    {
        QemuProfiles profiles = Write("""{ "profiles": { "mine": {} } }""");

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("tiyn"));

        Assert.Contains("No QEMU profile is named 'tiyn'. Known profiles: mine, none, tiny, tiny-x86_64, tiny-aarch64, tiny-uefi, tiny-uefi-x86_64, tiny-uefi-aarch64, tiny-agent, tiny-agent-x86_64, tiny-agent-aarch64.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("qemutestkit.manifest.json (absent)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Built_in_none_is_qmp_only()
    {
        QemuProfile none = Write().Get("none");

        Assert.Equal("none", none.Machine);
        Assert.Null(none.Console);
        Assert.Null(none.ReadyPattern);
        Assert.Equal("built-in", none.Source);
    }

    [Fact]
    public void A_profiles_file_may_redefine_a_built_in()
    {
        Assert.Equal("q35", Write("""{ "profiles": { "none": { "machine": "q35" } } }""").Get("none").Machine);
    }

    [Fact]
    public void Tiny_finds_the_guest_above_the_assembly_or_says_how_to_build_it()
    {
        string guest = Path.Combine(_dir, "build", "guest", "out");
        string deep = Path.Combine(_dir, "tests", "bin", "Debug");
        Directory.CreateDirectory(deep);

        QemuProfileException missing = Assert.Throws<QemuProfileException>(() => BuiltInProfiles.FindGuestDirectory(deep, "x86_64", null));
        // A package user is told to add the guest package; a clone of the kit, how to build the guests.
        Assert.Contains("<PackageReference Include=\"QemuTestKit.Guests\"", missing.Message, StringComparison.Ordinal);
        Assert.Contains("'bash build/guest/build.sh'", missing.Message, StringComparison.Ordinal);

        Directory.CreateDirectory(guest);
        File.WriteAllText(Path.Combine(guest, "guest.json"), "{}");
        Assert.Equal(guest, BuiltInProfiles.FindGuestDirectory(deep, "x86_64", null));
        Assert.Equal(guest, BuiltInProfiles.FindGuestDirectory("/", "x86_64", guest));
        Assert.Throws<QemuProfileException>(() => BuiltInProfiles.FindGuestDirectory(deep, "x86_64", deep));

        QemuProfile tiny = BuiltInProfiles.CreateTiny(guest);
        Assert.Equal(Path.Combine(guest, "vmlinuz"), tiny.Kernel);
        Assert.Equal("QEMUTESTKIT-READY", tiny.ReadyPattern);
        Assert.Equal("qtk# ", tiny.Prompt);
    }

    [Fact]
    public void Tiny_resolves_in_this_repository_without_configuration()
    {
        QemuProfile tiny = QemuProfiles.Default.Get("tiny");

        Assert.True(File.Exists(tiny.Kernel), $"kernel {tiny.Kernel} exists");
        Assert.True(File.Exists(tiny.Initrd), $"initrd {tiny.Initrd} exists");
    }
}
