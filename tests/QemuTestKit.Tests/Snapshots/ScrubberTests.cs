using System.Text.RegularExpressions;

namespace QemuTestKit.Tests.Snapshots;

public sealed class ScrubberTests
{
    [Fact]
    public void Guids_are_numbered_by_distinct_value_in_order_of_first_appearance()
    {
        const string text = "a=3F2504E0-4F89-11D3-9A0C-0305E82C3301 b=6ba7b810-9dad-11d1-80b4-00c04fd430c8 again=3f2504e0-4f89-11d3-9a0c-0305e82c3301";

        Assert.Equal("a={Guid_1} b={Guid_2} again={Guid_1}", Scrubber.Guids.Scrub(text));
    }

    [Theory]
    [InlineData("at 2026-11-26T14:14:46.123Z done", "at {Timestamp} done")]
    [InlineData("at 2026-11-26 14:14:46+01:00.", "at {Timestamp}.")]
    [InlineData("14:20:06.123456 >> {\"execute\": \"quit\"}", "{Time} >> {\"execute\": \"quit\"}")]
    [InlineData("\"timestamp\": {\"seconds\": 1764166486, \"microseconds\": 123456}}", "\"timestamp\": {QmpTimestamp}}")]
    [InlineData("\"timestamp\": {\"microseconds\": 5, \"seconds\": 17}", "\"timestamp\": {QmpTimestamp}")]
    [InlineData("[    1.234567] Run /init as init process", "[{KernelTime}] Run /init as init process")]
    [InlineData("mac=52:54:00:12:34:56 cpu x86_64", "mac=52:54:00:12:34:56 cpu x86_64")]
    public void Timestamps_become_fixed_placeholders_and_lookalikes_stay(string text, string expected)
    {
        Assert.Equal(expected, Scrubber.Timestamps.Scrub(text));
    }

    [Theory]
    [InlineData("booted in 12.3 ms, shutdown 1.2s, idle 440795202767 ns, waited 3 seconds", "booted in {Duration}, shutdown {Duration}, idle {Duration}, waited {Duration}")]
    [InlineData("-m 256M -smp 2 x86_64 ttyS0 disk2s", "-m 256M -smp 2 x86_64 ttyS0 disk2s")]
    public void Durations_are_replaced_without_touching_sizes_or_names(string text, string expected)
    {
        Assert.Equal(expected, Scrubber.Durations.Scrub(text));
    }

    [Theory]
    [InlineData("RIP: 0010:0xffffffff81000000 [<ffffffff8123abcd>]", "RIP: 0010:{Address} [<{Address}>]")]
    [InlineData("irq 0x1f, mask 0x00ff", "irq 0x1f, mask 0x00ff")]
    public void Hex_addresses_of_eight_or_more_digits_and_kernel_addresses_are_replaced(string text, string expected)
    {
        Assert.Equal(expected, Scrubber.HexAddresses.Scrub(text));
    }

    [Fact]
    public void Pids_after_the_word_pid_are_numbered_and_other_numbers_stay()
    {
        const string text = "terminating on signal 15 from pid 4242 (dotnet)\nPID: 77, pid=4242, -m 4242";

        Assert.Equal("terminating on signal 15 from pid {Pid_1} (dotnet)\nPID: {Pid_2}, pid={Pid_1}, -m 4242", Scrubber.Pids.Scrub(text));
    }

    [Fact]
    public void Temp_paths_name_the_directory_under_the_temp_root_and_keep_the_rest()
    {
        Scrubber scrubber = Scrubber.TempPathsUnder(["/tmp/", "/var/tmp"]);
        const string text = "log=/tmp/qemu-machine-x1y2/vm.log img=/var/tmp/disk-9/a.img again=/tmp/qemu-machine-x1y2 other=/work/tmp/keep";

        Assert.Equal("log={TempDir_1}/vm.log img={TempDir_2}/a.img again={TempDir_1} other=/work/tmp/keep", scrubber.Scrub(text));
    }

    [Fact]
    public void Socket_paths_are_numbered_by_distinct_path()
    {
        const string text = "path=/run/x/qemu-1-monitor.sock,server=on path=/run/x/qemu-1-console.sock /run/x/qemu-1-monitor.sock";

        Assert.Equal("path={Socket_1},server=on path={Socket_2} {Socket_1}", Scrubber.SocketPaths.Scrub(text));
    }

    [Fact]
    public void A_directory_is_replaced_only_as_a_whole_path()
    {
        Scrubber home = Scrubber.DirectoryAt("/home/ann/", "{Home}");

        Assert.Equal("{Home}/src {Home} /home/anna /x/home/ann", home.Scrub("/home/ann/src /home/ann /home/anna /x/home/ann"));
    }

    [Theory]
    [InlineData("/home/ann", "cd /home/ann/src", "cd {Home}/src")]
    [InlineData("/root", "HOME=/root", "HOME=/root")]
    [InlineData("C:\\Users\\ann", "C:\\Users\\ann\\x", "{Home}\\x")]
    public void The_home_directory_is_replaced_unless_it_is_top_level(string home, string text, string expected)
    {
        Assert.Equal(expected, Scrubber.HomeDirectoryAt(home).Scrub(text));
    }

    [Fact]
    public void Scrubbers_of_one_apply_share_the_numbering_and_run_in_order()
    {
        Scrubber sessions = Scrubber.Numbered(new Regex("session-[0-9]+"), "Session");
        Scrubber rename = Scrubber.Replace("{Session_1}", "{FirstSession}");

        string scrubbed = Scrubber.Apply("session-9 session-4 session-9", [sessions, sessions, rename]);

        Assert.Equal("{FirstSession} {Session_2} {FirstSession}", scrubbed);
    }

    [Fact]
    public void Pattern_replace_and_remove_lines_do_what_they_say()
    {
        Scrubber pattern = Scrubber.Pattern(new Regex(@"build-(\d+)"), "build-{N}");
        Scrubber replace = Scrubber.Replace("ci-runner-7", "{Runner}");
        Scrubber remove = Scrubber.RemoveLines(line => line.Contains("random:", StringComparison.Ordinal));

        string scrubbed = Scrubber.Apply("build-12 on ci-runner-7\r\nrandom: crng init done\r\nend", [pattern, replace, remove]);

        Assert.Equal("build-{N} on {Runner}\r\nend", scrubbed);
    }

    [Fact]
    public void Defaults_are_deterministic_and_idempotent()
    {
        const string text = "[    0.000000] Linux at 2026-11-26T14:14:46Z id 6ba7b810-9dad-11d1-80b4-00c04fd430c8 pid 99 took 3 ms at 0xffffffffa0001234";

        string once = Scrubber.Apply(text, Scrubber.Defaults);

        Assert.Equal("[{KernelTime}] Linux at {Timestamp} id {Guid_1} pid {Pid_1} took {Duration} at {Address}", once);
        Assert.Equal(once, Scrubber.Apply(text, Scrubber.Defaults));
        Assert.Equal(once, Scrubber.Apply(once, Scrubber.Defaults));
    }

    [Fact]
    public void Machine_and_user_names_are_replaced_as_whole_words()
    {
        string text = $"host {Environment.MachineName} user {Environment.UserName}";

        string scrubbed = Scrubber.Apply(text, [Scrubber.MachineName, Scrubber.UserName]);

        Assert.Equal("host {MachineName} user {UserName}", scrubbed);
    }
}
