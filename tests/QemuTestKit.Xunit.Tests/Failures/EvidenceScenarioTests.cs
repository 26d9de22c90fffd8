using System.Diagnostics;
using QemuTestKit.Xunit.Tests.Harness;

namespace QemuTestKit.Xunit.Tests;

/// <summary>Evidence on failure (profile <c>"onFailure"</c>), through <c>dotnet test</c>: a memory dump and HMP outputs.</summary>
public sealed class EvidenceScenarioTests(ScenarioProject scenarios)
{
    private const string Prefix = "Scenarios.EvidenceOnFailure.Fails_with_evidence.";

    [Fact(Timeout = 600_000)]
    public async Task A_failed_test_attaches_an_elf_core_dump_and_the_hmp_outputs()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;

        ScenarioResult result = await scenarios.RunAsync(["EvidenceOnFailure"], null, ct);

        Assert.True(result.ExitCode == 2, result.ToString());
        string[] attached = Directory.GetFiles(result.ResultsDirectory, "*.txt", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}qemutestkit{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToArray();
        string registers = Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "info-registers.txt");
        Assert.Contains("RIP=", File.ReadAllText(registers), StringComparison.Ordinal);
        string mtree = Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "info-mtree.txt");
        Assert.Contains("address-space: memory", File.ReadAllText(mtree), StringComparison.Ordinal);

        // The dump is in the class's artifacts folder; the attachment names it.
        string note = File.ReadAllText(Assert.Single(attached, f => Path.GetFileName(f) == Prefix + "memory-dump.txt"));
        string dump = note[(note.LastIndexOf(": ", StringComparison.Ordinal) + 2)..].Trim();
        Assert.StartsWith(Path.Combine(result.ResultsDirectory, "qemutestkit"), dump, StringComparison.Ordinal);
        Assert.EndsWith(".memory.elf", dump, StringComparison.Ordinal);

        // ELF header: magic, 64-bit, little-endian, e_type ET_CORE (4).
        byte[] header = new byte[18];
        await using (FileStream stream = File.OpenRead(dump))
        {
            await stream.ReadExactlyAsync(header, ct);
        }

        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1 }, header[..6]);
        Assert.Equal(4, BitConverter.ToUInt16(header, 16));
        Assert.True(new FileInfo(dump).Length >= 128L * 1024 * 1024, "the dump holds the guest's 128M of RAM");

        using Process file = Process.Start(new ProcessStartInfo("file", ["-b", dump]) { RedirectStandardOutput = true })!;
        string kind = await file.StandardOutput.ReadToEndAsync(ct);
        await file.WaitForExitAsync(ct);
        Assert.Contains("ELF 64-bit LSB core file", kind, StringComparison.Ordinal);
    }
}
