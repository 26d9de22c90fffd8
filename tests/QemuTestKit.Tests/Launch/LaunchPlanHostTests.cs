namespace QemuTestKit.Tests.Launch;

/// <summary>
/// The launch plan's decisions that depend on the host: the accelerator by host and guest architecture, and the UEFI
/// firmware files. Fake hosts, so every host (and one this machine is not) can be asked.
/// </summary>
public sealed class LaunchPlanHostTests : IDisposable
{
    private const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    private const string OvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
    private const string AavmfCode = "/usr/share/AAVMF/AAVMF_CODE.fd";
    private const string AavmfVars = "/usr/share/AAVMF/AAVMF_VARS.fd";

    private readonly string _dir = Directory.CreateTempSubdirectory("qtk-plan-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_foreign_guest_is_emulated_even_where_kvm_works_and_kvm_is_not_even_probed()
    {
        int probes = 0;
        QemuHost x86Host = Host("x86_64", kvm: () => { probes++; return true; });

        Assert.Equal(QemuAccelerator.Tcg, QemuLaunchPlan.Resolve(new QemuProfile("arm") { Arch = "aarch64" }, x86Host).Accelerator);
        Assert.Equal(0, probes);
        Assert.Equal(QemuAccelerator.Kvm, QemuLaunchPlan.Resolve(new QemuProfile("pc") { Arch = "x86_64" }, x86Host).Accelerator);
        Assert.Equal(1, probes);

        // On an aarch64 host it is the other way round.
        QemuHost armHost = Host("aarch64", kvm: () => true);
        Assert.Equal(QemuAccelerator.Kvm, QemuLaunchPlan.Resolve(new QemuProfile("arm") { Arch = "aarch64" }, armHost).Accelerator);
        Assert.Equal(QemuAccelerator.Tcg, QemuLaunchPlan.Resolve(new QemuProfile("pc") { Arch = "x86_64" }, armHost).Accelerator);
    }

    [Fact]
    public void The_run_wide_override_accepts_hvf_and_whpx_and_QEMU_gets_their_names()
    {
        var profile = new QemuProfile("p");

        QemuLaunchPlan hvf = QemuLaunchPlan.Resolve(profile, Host("x86_64", kvm: () => true, accel: "hvf"));
        QemuLaunchPlan whpx = QemuLaunchPlan.Resolve(profile, Host("x86_64", kvm: () => true, accel: "whpx"));

        Assert.Equal(QemuAccelerator.Hvf, hvf.Accelerator);
        Assert.Equal(["-accel", "hvf"], hvf.Arguments.Skip(1).Take(2));
        Assert.Equal(QemuAccelerator.Whpx, whpx.Accelerator);
    }

    [Fact]
    public void The_run_wide_override_accelerates_only_guests_of_the_hosts_architecture()
    {
        // A Mac with Apple silicon and QEMUTESTKIT_ACCEL=hvf (what the README tells its users): tiny-aarch64 on HVF,
        // tiny-x86_64 emulated; likewise QEMUTESTKIT_ACCEL=kvm on an x86_64 host leaves an aarch64 guest on TCG.
        QemuHost mac = Host("aarch64", kvm: () => false, accel: "hvf");
        QemuHost linux = Host("x86_64", kvm: () => true, accel: "kvm");

        Assert.Equal(QemuAccelerator.Hvf, QemuLaunchPlan.Resolve(new QemuProfile("arm") { Arch = "aarch64" }, mac).Accelerator);
        Assert.Equal(QemuAccelerator.Tcg, QemuLaunchPlan.Resolve(new QemuProfile("pc") { Arch = "x86_64" }, mac).Accelerator);
        Assert.Equal(QemuAccelerator.Kvm, QemuLaunchPlan.Resolve(new QemuProfile("pc") { Arch = "x86_64" }, linux).Accelerator);
        Assert.Equal(QemuAccelerator.Tcg, QemuLaunchPlan.Resolve(new QemuProfile("arm") { Arch = "aarch64" }, linux).Accelerator);
        // A profile that pins its accelerator keeps it: the user said so for that guest.
        Assert.Equal(QemuAccelerator.Hvf, QemuLaunchPlan.Resolve(new QemuProfile("pinned") { Arch = "x86_64", Accel = QemuAccelerator.Hvf }, mac).Accelerator);
    }

    [Fact]
    public void A_profile_file_may_say_hvf_and_uefi_and_rejects_an_unknown_firmware()
    {
        string file = Path.Combine(_dir, "qemu-profiles.json");
        File.WriteAllText(file, """{ "profiles": { "mac": { "accel": "hvf", "firmware": "uefi" }, "bios": { "firmware": "bios" } } }""");
        QemuProfiles profiles = QemuProfiles.LoadUncached(_dir);

        QemuProfile mac = profiles.Get("mac");
        Assert.Equal(QemuAccelerator.Hvf, mac.Accel);
        Assert.Equal(QemuFirmware.Uefi, mac.Firmware);
        Assert.Equal(QemuFirmware.Default, new QemuProfile("p").Firmware);
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => profiles.Get("bios"));
        Assert.Equal("firmware", ex.Field);
        Assert.Contains("\"uefi\"", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x86_64", OvmfCode, OvmfVars, "ovmf")]
    [InlineData("aarch64", AavmfCode, AavmfVars, "qemu-efi-aarch64")]
    public void Uefi_maps_the_firmware_code_read_only_and_ships_both_files_to_a_container(string arch, string code, string vars, string package)
    {
        var profile = new QemuProfile("u") { Arch = arch, Firmware = QemuFirmware.Uefi };

        QemuLaunchPlan plan = QemuLaunchPlan.Resolve(profile, Host("x86_64", files: [code, vars]));

        Assert.Equal(new UefiFirmware(code, vars, package), plan.Firmware);
        IReadOnlyList<string> args = plan.Arguments;
        int drive = args.ToList().IndexOf("if=pflash,format=raw,unit=0,readonly=on,file=" + code);
        Assert.True(drive > 0 && args[drive - 1] == "-drive", string.Join(' ', args));
        // The variable store is per VM (the machine's copy), never the shared template.
        Assert.DoesNotContain(args, a => a.Contains(vars, StringComparison.Ordinal));
        Assert.Contains(code, plan.HostFiles);
        Assert.Contains(vars, plan.HostFiles);

        QemuLaunchPlan container = QemuLaunchPlan.Resolve(profile with { Runner = QemuRunner.Container }, Host("x86_64", files: [code, vars]));
        Assert.Equal(plan.Firmware, container.Firmware);
    }

    [Fact]
    public void Without_uefi_there_is_no_firmware_and_nothing_is_looked_up()
    {
        QemuLaunchPlan plan = QemuLaunchPlan.Resolve(new QemuProfile("p"), Host("x86_64", files: []));

        Assert.Null(plan.Firmware);
        Assert.DoesNotContain(plan.Arguments, a => a.Contains("pflash", StringComparison.Ordinal));
    }

    [Fact]
    public void Older_releases_2MB_OVMF_and_QEMUs_own_edk2_files_are_found_too()
    {
        var profile = new QemuProfile("u") { Firmware = QemuFirmware.Uefi };

        Assert.Equal(
            "/usr/share/OVMF/OVMF_CODE.fd",
            QemuLaunchPlan.Resolve(profile, Host("x86_64", files: ["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"])).Firmware!.Code);
        // Homebrew, the Windows installer, a source build: <prefix>/bin/qemu-system-* and <prefix>/share/qemu/edk2-*.
        QemuLaunchPlan brew = QemuLaunchPlan.Resolve(
            profile with { Arch = "aarch64" },
            Host("x86_64", binary: "/opt/homebrew/bin/qemu-system-aarch64", files: ["/opt/homebrew/share/qemu/edk2-aarch64-code.fd", "/opt/homebrew/share/qemu/edk2-arm-vars.fd"]));
        Assert.Equal("/opt/homebrew/share/qemu/edk2-aarch64-code.fd", brew.Firmware!.Code);
    }

    [Theory]
    [InlineData("x86_64", "ovmf", OvmfCode)]
    [InlineData("aarch64", "qemu-efi-aarch64", AavmfCode)]
    public void Missing_firmware_names_the_files_and_the_package_to_install(string arch, string package, string code)
    {
        var profile = new QemuProfile("u") { Arch = arch, Firmware = QemuFirmware.Uefi, Source = "/p/qemu-profiles.json" };

        // The code alone is not enough: without the variable store template there is nothing to copy per VM.
        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => QemuLaunchPlan.Resolve(profile, Host("x86_64", files: [code])));

        Assert.Equal("firmware", ex.Field);
        Assert.Equal("/p/qemu-profiles.json", ex.SourceFile);
        Assert.Contains($"apt-get install {package}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(code, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Uefi_for_an_architecture_without_known_firmware_says_how_to_pass_it()
    {
        var profile = new QemuProfile("rv") { Arch = "riscv64", Firmware = QemuFirmware.Uefi };

        QemuProfileException ex = Assert.Throws<QemuProfileException>(() => QemuLaunchPlan.Resolve(profile, Host("x86_64", files: [])));

        Assert.Contains("riscv64", ex.Message, StringComparison.Ordinal);
        Assert.Contains("if=pflash", ex.Message, StringComparison.Ordinal);
    }

    private static QemuHost Host(string arch, Func<bool>? kvm = null, string? accel = null, string? binary = null, string[]? files = null) =>
        new(
            p => binary ?? "/usr/bin/qemu-system-" + p.Arch,
            (_, _) => kvm?.Invoke() ?? false,
            () => accel,
            arch,
            files is null ? null : files.Contains);
}
