using QemuTestKit.Build.Tests.Infrastructure;

namespace QemuTestKit.Build.Tests.Tasks;

public sealed class ResolveQemuBinaryTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeBuildEngine _engine = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Finds_qemu_system_for_the_arch_on_PATH_and_records_its_version()
    {
        ResolveQemuBinary task = NewTask();
        task.Arch = "x86_64";

        Assert.True(task.Execute(), _engine.Log);

        Assert.Equal("qemu-system-x86_64", Path.GetFileName(task.ResolvedPath));
        Assert.True(File.Exists(task.ResolvedPath), $"QEMU is needed: run 'bash build/install-prerequisites.sh'. Got {task.ResolvedPath}");
        Assert.Matches(@"^\d+\.\d+(\.\d+)?$", task.Version);
        Assert.Equal("x86_64", task.ResolvedArch);
    }

    [Fact]
    public void Property_wins_over_the_environment_variable_and_a_file_name_is_searched()
    {
        string fake = FakeQemu("bin/my-qemu", "9.1.2");
        string other = FakeQemu("other/qemu-from-env", "1.0.0");
        ResolveQemuBinary task = NewTask(searchFolders: [_temp["bin"]]);
        task.Binary = "my-qemu";
        task.EnvironmentBinary = other;

        Assert.True(task.Execute(), _engine.Log);

        Assert.Equal(fake, task.ResolvedPath);
        Assert.Equal("9.1.2", task.Version);
    }

    [Fact]
    public void Environment_variable_is_used_when_the_property_is_empty()
    {
        string fromEnv = FakeQemu("env/qemu", "8.2.0");
        ResolveQemuBinary task = NewTask(searchFolders: []);
        task.EnvironmentBinary = fromEnv;

        Assert.True(task.Execute(), _engine.Log);

        Assert.Equal(fromEnv, task.ResolvedPath);
        Assert.Equal("8.2.0", task.Version);
    }

    [Fact]
    public void Relative_path_resolves_against_the_project_directory()
    {
        string fake = FakeQemu("tools/qemu-system-riscv64", "9.0.0");
        ResolveQemuBinary task = NewTask(searchFolders: []);
        task.Binary = "tools/qemu-system-riscv64";
        task.ProjectDirectory = _temp.Path;

        Assert.True(task.Execute(), _engine.Log);

        Assert.Equal(fake, task.ResolvedPath);
    }

    [Fact]
    public void QTK001_when_the_property_points_nowhere_names_the_property_and_the_package()
    {
        ResolveQemuBinary task = NewTask();
        task.Binary = _temp["missing/qemu-system-x86_64"];
        task.Arch = "x86_64";

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK001").Message!;
        Assert.Contains("QemuBinary", message, StringComparison.Ordinal);
        Assert.Contains(_temp["missing/qemu-system-x86_64"], message, StringComparison.Ordinal);
        Assert.Contains("qemu-system-x86", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK001_when_nothing_is_found_names_the_binary_the_property_the_variable_and_the_package()
    {
        ResolveQemuBinary task = NewTask(searchFolders: [_temp.Path]);
        task.Arch = "aarch64";

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK001").Message!;
        Assert.Contains("qemu-system-aarch64", message, StringComparison.Ordinal);
        Assert.Contains("QemuBinary", message, StringComparison.Ordinal);
        Assert.Contains("QEMU_BINARY", message, StringComparison.Ordinal);
        Assert.Contains("apt-get install qemu-system-arm", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK001_when_the_environment_variable_points_nowhere_names_the_variable()
    {
        ResolveQemuBinary task = NewTask(searchFolders: []);
        task.EnvironmentBinary = _temp["nope"];

        Assert.False(task.Execute());

        Assert.Contains("QEMU_BINARY", _engine.SingleError("QTK001").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK002_when_the_file_is_not_executable()
    {
        string path = _temp.WriteText("qemu-system-x86_64", "#!/bin/sh\necho 'QEMU emulator version 7.2.0'\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        ResolveQemuBinary task = NewTask();
        task.Binary = path;

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK002").Message!;
        Assert.Contains("not executable", message, StringComparison.Ordinal);
        Assert.Contains("QemuBinary", message, StringComparison.Ordinal);
        Assert.Contains("apt-get install qemu-system-", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK002_when_the_file_cannot_be_started()
    {
        // Executable bit, but no interpreter line and not a binary: the kernel refuses to run it.
        string path = _temp.Write("qemu-system-x86_64", [0x00, 0x01, 0x02, 0x03]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ResolveQemuBinary task = NewTask();
        task.Binary = path;

        Assert.False(task.Execute());

        Assert.Contains("QemuBinary", _engine.SingleError("QTK002").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK003_when_the_binary_is_not_qemu_shows_what_it_printed()
    {
        string path = Script("not-qemu", "echo 'GNU bash, version 5.2'");
        ResolveQemuBinary task = NewTask();
        task.Binary = path;

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK003").Message!;
        Assert.Contains("GNU bash, version 5.2", message, StringComparison.Ordinal);
        Assert.Contains("QemuBinary", message, StringComparison.Ordinal);
        Assert.Contains("QEMU emulator version", message, StringComparison.Ordinal);
    }

    [Fact]
    public void QTK003_when_version_exits_with_an_error()
    {
        string path = Script("qemu-broken", "echo 'QEMU emulator version 7.2.0'; exit 3");
        ResolveQemuBinary task = NewTask();
        task.Binary = path;

        Assert.False(task.Execute());

        Assert.Contains("exited with 3", _engine.SingleError("QTK003").Message!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QTK003_when_version_hangs_is_bounded_and_leaves_nothing_running()
    {
        // The script and its child record their PIDs, then wait forever. The default bound (10 s) leaves a loaded box
        // ample time to get that far, so the PIDs are always there to check.
        string pidFile = _temp["pids"];
        string path = Script("qemu-hangs", $"sleep 100000 &\necho $$ $! > '{pidFile}'\nwait");
        ResolveQemuBinary task = NewTask();
        task.Binary = path;

        bool succeeded = await Task.Run(task.Execute, TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);

        Assert.False(succeeded);
        string message = _engine.SingleError("QTK003").Message!;
        Assert.Contains($"is not a working QEMU: '{path} --version' did not exit within 10 s, so it was killed", message, StringComparison.Ordinal);
        Assert.Contains("QemuBinary", message, StringComparison.Ordinal);
        foreach (string pid in File.ReadAllText(pidFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            for (int i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} of the hanging binary is still there");
        }
    }

    [Fact]
    public void QTK002_when_the_property_names_a_folder()
    {
        ResolveQemuBinary task = NewTask();
        task.Binary = _temp.Path;

        Assert.False(task.Execute());

        string message = _engine.SingleError("QTK002").Message!;
        Assert.Contains($"'{_temp.Path}' is a folder, not a program", message, StringComparison.Ordinal);
        Assert.Contains("QemuBinary", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cache_file_spares_running_an_unchanged_binary_again()
    {
        string counter = _temp["runs"];
        string path = Script("qemu-counted", $"echo x >> '{counter}'; echo 'QEMU emulator version 6.2.0 (Debian)'");
        string cache = _temp["obj/qemutestkit.binary.json"];

        ResolveQemuBinary first = NewTask();
        first.Binary = path;
        first.CacheFile = cache;
        Assert.True(first.Execute(), _engine.Log);
        DateTime cacheWritten = File.GetLastWriteTimeUtc(cache);

        ResolveQemuBinary second = NewTask();
        second.Binary = path;
        second.CacheFile = cache;
        Assert.True(second.Execute(), _engine.Log);

        Assert.Equal("6.2.0", second.Version);
        Assert.Equal(1, first.VersionProbes);
        Assert.Equal(0, second.VersionProbes);
        Assert.Single(File.ReadAllLines(counter));
        Assert.Equal(cacheWritten, File.GetLastWriteTimeUtc(cache));

        // A changed binary is probed again.
        File.WriteAllText(path, $"#!/bin/sh\necho x >> '{counter}'; echo 'QEMU emulator version 6.2.1'\n");
        ResolveQemuBinary third = NewTask();
        third.Binary = path;
        third.CacheFile = cache;
        Assert.True(third.Execute(), _engine.Log);
        Assert.Equal("6.2.1", third.Version);
        Assert.Equal(1, third.VersionProbes);
    }

    private ResolveQemuBinary NewTask(IReadOnlyList<string>? searchFolders = null) =>
        new() { BuildEngine = _engine, SearchFolders = searchFolders, ProjectDirectory = _temp.Path };

    private string FakeQemu(string relative, string version) =>
        Script(relative, $"echo 'QEMU emulator version {version} (fake)'; echo 'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers'");

    private string Script(string relative, string body)
    {
        string path = _temp.WriteText(relative, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
