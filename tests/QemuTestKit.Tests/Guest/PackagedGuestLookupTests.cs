using QemuTestKit.Tests.Machine;

namespace QemuTestKit.Tests.Guest;

/// <summary>
/// Where the tiny profiles find the guests the QemuTestKit.Guests package copies next to the test assembly
/// (<c>qemu-guests/&lt;arch&gt;/</c>), and what a user without the package and without a clone is told.
/// </summary>
public sealed class PackagedGuestLookupTests : IDisposable
{
    private readonly ScratchDirectory _dir = new("qtk-packaged-guests");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_packaged_guests_next_to_the_assembly_come_before_a_clone_and_after_QTK_GUEST_DIR()
    {
        // A test output folder inside a clone: both the package's copy and build/guest/out are there.
        string output = Path.Combine(_dir.Path, "tests", "bin");
        string packaged = Path.Combine(output, BuiltInProfiles.PackagedGuestsFolder);
        WriteGuest(Path.Combine(packaged, "x86_64"), """{ "arch": "x86_64" }""");
        WriteGuest(Path.Combine(packaged, "aarch64"), """{ "arch": "aarch64" }""");
        WriteGuest(Path.Combine(_dir.Path, "build", "guest", "out", "x86_64"), """{ "arch": "x86_64" }""");
        string fromEnv = Path.Combine(_dir.Path, "override");
        WriteGuest(Path.Combine(fromEnv, "x86_64"), """{ "arch": "x86_64" }""");

        Assert.Equal(Path.Combine(packaged, "x86_64"), BuiltInProfiles.FindGuestDirectory(output, "x86_64", null));
        Assert.Equal(Path.Combine(packaged, "aarch64"), BuiltInProfiles.FindGuestDirectory(output, "aarch64", null));
        Assert.Equal(Path.Combine(fromEnv, "x86_64"), BuiltInProfiles.FindGuestDirectory(output, "x86_64", fromEnv));

        QemuProfile tiny = BuiltInProfiles.TryCreate(BuiltInProfiles.TinyAarch64, output)!;
        Assert.Equal(Path.Combine(packaged, "aarch64", "vmlinuz"), tiny.Kernel);
    }

    [Fact]
    public void A_missing_guest_says_to_add_the_package_not_to_run_a_script_from_a_repository_the_user_does_not_have()
    {
        string output = Path.Combine(_dir.Path, "consumer", "bin");
        Directory.CreateDirectory(output);

        foreach (string arch in BuiltInProfiles.TinyArchitectures)
        {
            QemuProfileException missing = Assert.Throws<QemuProfileException>(() => BuiltInProfiles.FindGuestDirectory(output, arch, null));

            Assert.Contains("<PackageReference Include=\"QemuTestKit.Guests\"", missing.Message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine("qemu-guests", arch, "guest.json"), missing.Message, StringComparison.Ordinal);
            Assert.Contains("QTK_GUEST_DIR", missing.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("from the repository root", missing.Message, StringComparison.Ordinal);
        }
    }

    private static void WriteGuest(string folder, string json)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "guest.json"), json);
    }
}
